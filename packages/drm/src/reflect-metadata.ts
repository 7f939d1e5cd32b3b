/**
 * Loads the `Reflect` metadata polyfill (`reflect-metadata`) that tsyringe needs: tsyringe throws
 * when it loads without it, and its `@inject` parameter decorators record their tokens with it.
 * Users never import the polyfill themselves; `@drmsim/drm` does, first thing.
 *
 * It is its own ES module, and the one module of this package listed in `sideEffects`, for
 * bundlers: a bundler evaluates a CommonJS dependency such as `reflect-metadata` where the
 * importing module's body starts, after the ES modules it imports — so an importer that also
 * imported tsyringe (an ES module) would evaluate tsyringe first. Imported before anything else
 * by the package entry and by the plugin host, this module's body runs the polyfill before any
 * module of the package, or a driver importing `@drmsim/drm` before `tsyringe`, reaches tsyringe.
 */
import "reflect-metadata";
