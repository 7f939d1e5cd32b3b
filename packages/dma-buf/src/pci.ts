/**
 * A simulated PCI(e) topology and the peer-to-peer distance rules of `drivers/pci/p2pdma.c`.
 *
 * A topology is a forest: each host bridge (`struct pci_host_bridge`, one root complex) has root
 * ports; below a port hang switches (an upstream port with downstream ports) and endpoints. Every
 * node except the host bridge is a `PciDev`.
 *
 * The kernel's rule for whether one device may DMA straight into another's BAR
 * (`pci_p2pdma_distance_many`, `calc_map_type_and_dist`):
 * - the same function → distance 0;
 * - a common upstream PCI bridge (a switch port or a root port both sit under) → supported, the
 *   TLPs are routed by that bridge; the distance is the number of hops from each device up to it
 *   (two devices on ports of one switch: 4), unless a bridge on the way redirects peer traffic to
 *   the root (ACS redirect), which makes it a host-bridge transfer;
 * - no common PCI bridge but the same host bridge → the transfer goes through the root complex,
 *   which only known-good root complexes handle (the kernel's `pci_p2pdma_whitelist`, modelled as
 *   `PciHostBridge.p2pWhitelisted`); otherwise not supported;
 * - different host bridges → not supported;
 * - a client that is not a PCI device → not supported.
 * "Not supported" is a negative distance; callers check `< 0`.
 */
import type { Simulator } from "@drmsim/runtime";
import type { Device } from "./device.js";

/** What a `PciDev` is in the hierarchy (`pci_pcie_type()`). */
export type PciDevKind = "root-port" | "upstream-port" | "downstream-port" | "endpoint";

/**
 * `struct pci_host_bridge`: one root complex. Create with `new PciHostBridge(name, { p2pWhitelisted })`.
 */
export class PciHostBridge {
  /** The root ports under this host bridge. */
  readonly rootPorts: PciDev[] = [];
  /**
   * True if the root complex is on the kernel's whitelist of host bridges known to forward
   * peer-to-peer TLPs between its root ports (`pci_p2pdma_whitelist[]`: some Intel Xeon and
   * AMD Zen parts). Peer traffic that has to cross the root complex is allowed only then.
   */
  readonly p2pWhitelisted: boolean;

  constructor(
    /** e.g. `pci0000:00`. */
    readonly name: string,
    opts: { p2pWhitelisted?: boolean } = {},
  ) {
    this.p2pWhitelisted = opts.p2pWhitelisted ?? false;
  }

  /** Adds a root port (`pcie_port_bus` root port function) below this host bridge. */
  addRootPort(name: string, opts: { acsRedirect?: boolean } = {}): PciDev {
    const port = new PciDev(name, "root-port", null, this, opts.acsRedirect ?? false);
    this.rootPorts.push(port);
    return port;
  }
}

/** `struct pci_dev`: one PCI function (a port of a switch, a root port, an endpoint). */
export class PciDev {
  /** Functions directly below this one (for ports). */
  readonly children: PciDev[] = [];

  /** @internal Use `PciHostBridge.addRootPort`, `addSwitch` and `addEndpoint`. */
  constructor(
    /** e.g. `0000:03:00.0`. */
    readonly name: string,
    readonly kind: PciDevKind,
    /** `pci_upstream_bridge()`: the bridge above, or null for a root port. */
    readonly upstream: PciDev | null,
    /** `pci_find_host_bridge()`. */
    readonly hostBridge: PciHostBridge,
    /**
     * ACS P2P Request Redirect is enabled on this bridge: peer requests are sent up to the root
     * complex instead of being routed across (`pci_bridge_has_acs_redir`).
     */
    readonly acsRedirect = false,
  ) {}

  /**
   * Adds a switch below this port: an upstream port and `downstreamPorts` downstream ports.
   * Returns the downstream ports.
   */
  addSwitch(name: string, downstreamPorts: number, opts: { acsRedirect?: boolean } = {}): PciDev[] {
    this.assertPort("addSwitch");
    const up = new PciDev(`${name}-up`, "upstream-port", this, this.hostBridge, false);
    this.children.push(up);
    const downs: PciDev[] = [];
    for (let i = 0; i < downstreamPorts; i++) {
      const d = new PciDev(
        `${name}-down${i}`,
        "downstream-port",
        up,
        this.hostBridge,
        opts.acsRedirect ?? false,
      );
      up.children.push(d);
      downs.push(d);
    }
    return downs;
  }

  /** Adds an endpoint function (a GPU, an accelerator, a NIC) below this port. */
  addEndpoint(name: string): PciDev {
    this.assertPort("addEndpoint");
    const ep = new PciDev(name, "endpoint", this, this.hostBridge, false);
    this.children.push(ep);
    return ep;
  }

  toString(): string {
    return `${this.hostBridge.name}/${this.name}`;
  }

  private assertPort(op: string): void {
    if (this.kind === "endpoint" || this.kind === "upstream-port")
      throw new Error(
        `PciDev.${op}: ${this.name} is a ${this.kind}; devices hang below root or downstream ports`,
      );
  }
}

/**
 * `enum pci_p2pdma_map_type`: how a peer transfer would be routed.
 * - `bus-addr`: routed by a common PCI bridge, using PCI bus addresses;
 * - `thru-host-bridge`: through the root complex, using CPU physical addresses;
 * - `not-supported`.
 */
export type PciP2pdmaMapType = "bus-addr" | "thru-host-bridge" | "not-supported";

/** The verdict for one provider/client pair, with the reason in words. */
export interface PciP2pdmaPath {
  mapType: PciP2pdmaMapType;
  /** Hops between the two functions (meaningful unless `not-supported`). */
  distance: number;
  /** Why, for `verbose` logs and error messages. */
  reason: string;
}

/** Options of `pciP2pdmaDistance`. */
export interface PciP2pdmaDistanceOptions {
  /**
   * Log why a pair is not supported to the simulator's PCI log (`pciP2pdmaLog(sim)`), as the
   * kernel's `verbose` argument prints a `pci_warn`. Note the review of seed 003: user-triggered
   * paths should not spam the kernel log; the log here is per simulation and for tests.
   */
  verbose?: boolean;
}

function ancestors(dev: PciDev): PciDev[] {
  const out: PciDev[] = [];
  for (let d: PciDev | null = dev; d !== null; d = d.upstream) out.push(d);
  return out;
}

/**
 * `calc_map_type_and_dist()`: how `provider` and `client` can exchange peer traffic, and over
 * how many hops.
 */
export function pciP2pdmaPath(provider: PciDev, client: PciDev): PciP2pdmaPath {
  if (provider === client) return { mapType: "bus-addr", distance: 0, reason: "the same PCI function" };
  const up = ancestors(provider);
  const down = ancestors(client);
  // Walk the provider's path upwards; the first bridge that is also above the client is the common upstream.
  let common: PciDev | null = null;
  let distA = 0;
  let distB = 0;
  for (let i = 1; i < up.length && common === null; i++) {
    const j = down.indexOf(up[i]!);
    if (j >= 0) {
      common = up[i]!;
      distA = i;
      distB = j;
    }
  }
  if (common !== null) {
    const redirect = [...up.slice(1, distA + 1), ...down.slice(1, distB + 1)].find((d) => d.acsRedirect);
    if (redirect === undefined)
      return {
        mapType: "bus-addr",
        distance: distA + distB,
        reason: `routed by the common upstream bridge ${common.name}`,
      };
    return hostBridgeVerdict(provider, client, distA + distB, `ACS redirect is enabled on ${redirect.name}`);
  }
  return hostBridgeVerdict(provider, client, up.length + down.length, "no common upstream PCI bridge");
}

function hostBridgeVerdict(provider: PciDev, client: PciDev, distance: number, why: string): PciP2pdmaPath {
  const a = provider.hostBridge;
  const b = client.hostBridge;
  if (a !== b)
    return {
      mapType: "not-supported",
      distance: -1,
      reason: `${why}, and they are under different root complexes (${a.name}, ${b.name})`,
    };
  if (!a.p2pWhitelisted)
    return {
      mapType: "not-supported",
      distance: -1,
      reason: `${why}, and the transfer would cross host bridge ${a.name}, which is not on the peer-to-peer whitelist`,
    };
  return {
    mapType: "thru-host-bridge",
    distance,
    reason: `${why}; through whitelisted host bridge ${a.name}`,
  };
}

const LOG = {};

/** Lines logged by `pciP2pdmaDistance(..., { verbose: true })` in this simulation (`dmesg`). */
export function pciP2pdmaLog(sim: Simulator): string[] {
  return sim.subsystem(LOG, () => [] as string[]);
}

/**
 * `pci_p2pdma_distance_many()` / `pci_p2pdma_distance()`: the summed distance from `provider` to
 * every client device, or **-1** if any client cannot reach it peer-to-peer (a status, as in the
 * kernel: exporters branch on `< 0`). A client without a PCI function is not supported.
 */
export function pciP2pdmaDistance(
  provider: Device,
  clients: Device | readonly Device[],
  opts: PciP2pdmaDistanceOptions = {},
): number {
  const list = Array.isArray(clients) ? (clients as readonly Device[]) : [clients as Device];
  if (list.length === 0) return -1;
  const log = (msg: string): void => {
    if (opts.verbose === true) pciP2pdmaLog(provider.sim).push(msg);
  };
  const p = provider.pci;
  if (p === null) {
    log(`${provider.name}: cannot be used for peer-to-peer DMA as it is not a PCI device`);
    return -1;
  }
  let total = 0;
  let ok = true;
  for (const c of list) {
    if (c.pci === null) {
      log(`${c.name}: cannot be used for peer-to-peer DMA as it is not a PCI device`);
      ok = false;
      continue;
    }
    const path = pciP2pdmaPath(p, c.pci);
    if (path.mapType === "not-supported") {
      log(`${c.name} and ${provider.name}: peer-to-peer DMA is not supported: ${path.reason}`);
      ok = false;
      continue;
    }
    total += path.distance;
  }
  return ok ? total : -1;
}
