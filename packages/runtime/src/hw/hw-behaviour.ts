/**
 * How a driver's hardware model decides what one command does: the device's defaults, then what
 * the model (from the device container) says, then the per-command override a test sent through
 * the driver's side channel. A layer that leaves a member undefined keeps the one below.
 * drmsim-only: the kernel's hardware simply does what the command says.
 */
export function hwBehaviourLayered<T extends object>(defaults: T, ...layers: (Partial<T> | undefined)[]): T {
  const out = { ...defaults };
  for (const layer of layers) {
    if (layer === undefined) continue;
    for (const k of Object.keys(layer) as (keyof T)[]) {
      const v = layer[k];
      if (v !== undefined) out[k] = v;
    }
  }
  return out;
}
