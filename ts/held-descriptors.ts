// The OS descriptors behind a held claim or lease (native, Unix), for the CLI to hand to
// the COMMAND it runs, as `concurrent-fs lock` does: a kernel lock belongs to the open
// file description, so a child that inherits it holds the claim for as long as it lives,
// even if the wrapper is killed. Kept beside the objects instead of on them, so the
// public types do not grow an internal method.
const registry = new WeakMap<object, () => number[]>();

export function registerDescriptors(owner: object, descriptors: () => (number | undefined)[]): void {
  registry.set(owner, () => descriptors().filter((fd): fd is number => fd !== undefined));
}

/** The descriptors to pass on (empty for the fallback, whose claims are marker files). */
export function heldDescriptors(owner: object): number[] {
  return registry.get(owner)?.() ?? [];
}
