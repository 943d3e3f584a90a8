// Interface name → ifindex (and admin state) for the agent's namespace, filled by a full list and
// kept current by the netlink link monitor.
import type { Link } from '../../src/netlink/index.js';

interface Entry {
  index: number;
  up: boolean;
}

export class LinkIndex {
  private readonly byName = new Map<string, Entry>();

  reset(links: readonly Link[]): void {
    this.byName.clear();
    for (const l of links) this.byName.set(l.name, { index: l.index, up: l.up });
  }

  /** Applies a monitor event; returns true when the name's index or admin state changed. */
  update(action: 'new' | 'del', link: Link): boolean {
    const cur = this.byName.get(link.name);
    if (action === 'del') {
      if (cur?.index !== link.index) return false;
      this.byName.delete(link.name);
      return true;
    }
    // A rename shows up as "new" with the new name: drop the old name of that index.
    for (const [n, e] of this.byName) if (e.index === link.index && n !== link.name) this.byName.delete(n);
    this.byName.set(link.name, { index: link.index, up: link.up });
    return cur?.index !== link.index || cur.up !== link.up;
  }

  indexOf(name: string): number | undefined {
    return this.byName.get(name)?.index;
  }

  /** The interface exists and is administratively up (the kernel refuses routes via a down device). */
  isUp(name: string): boolean {
    return this.byName.get(name)?.up === true;
  }
}
