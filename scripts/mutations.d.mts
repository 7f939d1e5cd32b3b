/** Types of `scripts/mutations.mjs` (the bugs `scripts/mutate.mjs` plants), for the tests that check the list. */

/** One literal edit: `find` must occur exactly once in the file. */
export interface MutationEdit {
  readonly find: string;
  readonly replace: string;
}

/** The check that must catch a mutation: the fuzz campaign, or these test files. */
export type MutationDetector =
  | { readonly kind: "fuzz" }
  | { readonly kind: "suite"; readonly files: readonly string[] };

/** One planted bug. */
export interface Mutation {
  readonly id: string;
  readonly bug: string;
  readonly file: string;
  readonly edits: readonly MutationEdit[];
  readonly detector: MutationDetector;
  readonly catcher: string;
  readonly expect: RegExp;
}

/** The arguments `scripts/mutate.mjs` gives `pnpm fuzz`'s campaign. */
export const FUZZ_CAMPAIGN: readonly string[];

/** The bugs, in the order they are planted. */
export const MUTATIONS: readonly Mutation[];

/** `text` with `m`'s edits applied; throws if an edit's `find` does not occur exactly once. */
export function applyMutation(text: string, m: Mutation): string;
