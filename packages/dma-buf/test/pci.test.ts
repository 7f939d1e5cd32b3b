/** The PCI peer-to-peer distance rules of drivers/pci/p2pdma.c. */
import { Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { Device, PciHostBridge, pciP2pdmaDistance, pciP2pdmaLog, pciP2pdmaPath } from "../src/index.js";
import { machine } from "./fixtures.js";

describe("pci_p2pdma_distance", () => {
  it("two endpoints behind one switch are supported: 4 hops through the common upstream port", () => {
    const sim = new Simulator();
    const m = machine(sim);
    expect(pciP2pdmaDistance(m.gpu0, m.gpu1)).toBe(4);
    expect(pciP2pdmaPath(m.gpu0.pci!, m.gpu1.pci!).mapType).toBe("bus-addr");
  });

  it("a function with itself is distance 0", () => {
    const sim = new Simulator();
    const m = machine(sim);
    expect(pciP2pdmaDistance(m.gpu0, m.gpu0)).toBe(0);
  });

  it("crossing a host bridge that is not whitelisted is not supported", () => {
    const sim = new Simulator();
    const m = machine(sim, { whitelisted: false });
    expect(pciP2pdmaDistance(m.gpu0, m.nic0)).toBeLessThan(0);
    expect(pciP2pdmaPath(m.gpu0.pci!, m.nic0.pci!).mapType).toBe("not-supported");
  });

  it("crossing a whitelisted host bridge is supported, through the host bridge", () => {
    const sim = new Simulator();
    const m = machine(sim, { whitelisted: true });
    const d = pciP2pdmaDistance(m.gpu0, m.nic0);
    expect(d).toBeGreaterThan(4);
    expect(pciP2pdmaPath(m.gpu0.pci!, m.nic0.pci!).mapType).toBe("thru-host-bridge");
  });

  it("different root complexes are never supported, even when both are whitelisted", () => {
    const sim = new Simulator();
    const m = machine(sim, { whitelisted: true });
    expect(m.hb1.p2pWhitelisted).toBe(true);
    expect(pciP2pdmaDistance(m.gpu0, m.gpu2)).toBe(-1);
  });

  it("ACS redirect on a switch port sends peer traffic to the root: then the whitelist decides", () => {
    const sim = new Simulator();
    for (const whitelisted of [false, true]) {
      const hb = new PciHostBridge("hb", { p2pWhitelisted: whitelisted });
      const [a, b] = hb.addRootPort("rp").addSwitch("sw", 2, { acsRedirect: true });
      const x = new Device(sim, { name: "x", pci: a!.addEndpoint("x") });
      const y = new Device(sim, { name: "y", pci: b!.addEndpoint("y") });
      expect(pciP2pdmaPath(x.pci!, y.pci!).mapType).toBe(whitelisted ? "thru-host-bridge" : "not-supported");
    }
  });

  it("a client that is not a PCI device is not supported, and verbose logs why", () => {
    const sim = new Simulator();
    const m = machine(sim);
    expect(pciP2pdmaDistance(m.gpu0, m.platform, { verbose: true })).toBe(-1);
    expect(pciP2pdmaLog(sim).join("\n")).toMatch(/not a PCI device/);
  });

  it("many clients: the summed distance, or -1 if any one is unsupported; quiet unless verbose", () => {
    const sim = new Simulator();
    const m = machine(sim);
    expect(pciP2pdmaDistance(m.gpu0, [m.gpu1, m.gpu0])).toBe(4);
    expect(pciP2pdmaDistance(m.gpu0, [m.gpu1, m.gpu2])).toBe(-1);
    expect(pciP2pdmaDistance(m.gpu0, [])).toBe(-1);
    expect(pciP2pdmaLog(sim)).toEqual([]);
    pciP2pdmaDistance(m.gpu0, [m.gpu1, m.gpu2], { verbose: true });
    expect(pciP2pdmaLog(sim)).toHaveLength(1);
    expect(pciP2pdmaLog(sim)[0]).toMatch(/different root complexes/);
  });

  it("endpoints cannot have children", () => {
    const hb = new PciHostBridge("hb");
    const ep = hb.addRootPort("rp").addEndpoint("ep");
    expect(() => ep.addEndpoint("x")).toThrow(/endpoint/);
  });
});

describe("Device", () => {
  it("defaults: 64-bit mask, 64 KiB max segment (dma_get_max_seg_size without dma_parms)", () => {
    const sim = new Simulator();
    const d = new Device(sim, { name: "d" });
    expect(d.maxSegmentSize).toBe(65536);
    expect(d.dmaMask).toBe((1n << 64n) - 1n);
  });

  it("dma mask by bits or bigint; dmaCapable; bad values are EINVAL and change nothing", () => {
    const sim = new Simulator();
    const d = new Device(sim, { name: "d", dmaMask: 32 });
    expect(d.dmaCapable(0xffff_f000, 0x1000)).toBe(true);
    expect(d.dmaCapable(0xffff_f000, 0x1001)).toBe(false);
    d.setDmaMask(0xffffffffffn);
    expect(d.dmaCapable(0xff_ffff_f000, 0x1000)).toBe(true);
    expect(() => d.setDmaMask(65)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(() => d.setMaxSegSize(0)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(d.dmaMask).toBe(0xffffffffffn);
    expect(d.maxSegmentSize).toBe(65536);
  });
});
