/**
 * anon_vma: the reverse-map root that anonymous pages of a VMA hang off. Here it carries the
 * identity the merge rules compare; the pages layer adds the pages themselves.
 */
export class AnonVma {
  /** Child anon_vmas created by fork (anon_vma_fork), for the reverse map. */
  readonly children: AnonVma[] = [];
  constructor(
    /** Unique per machine, for views and deterministic output. */
    readonly id: number,
    /** The anon_vma this one was forked from (null for a root). */
    readonly parent: AnonVma | null,
  ) {
    if (parent) parent.children.push(this);
  }
  get root(): AnonVma {
    let a: AnonVma = this;
    while (a.parent) a = a.parent;
    return a;
  }
}
