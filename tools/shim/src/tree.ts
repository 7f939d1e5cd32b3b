/**
 * The server's directory: what the library reads and where it redirects paths.
 *
 *   nodes        one line per simulated node: `path kind major minor`
 *   clock        the virtual CLOCK_MONOTONIC in its first 8 bytes (mapped by every client)
 *   buf/         one shared file per mmapped buffer
 *   fs/…         the sysfs and debugfs a libdrm program looks at: /dev/dri and /dev/accel
 *                listings, /sys/dev/char/<major>:<minor>, /sys/class/drm, debugfs dri/<minor>/name
 *
 * Every device is a platform device (as vgem's is): its `subsystem` link ends in `/platform` and
 * its uevent carries `MODALIAS=platform:<name>`, which is what libdrm's `drmGetDevices2` reads to
 * list it and to fold its primary and render nodes into one device.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** `DRM_MAJOR`. */
export const DRM_MAJOR = 226;
/** `ACCEL_MAJOR`. */
export const ACCEL_MAJOR = 261;

/** A node the program can open. */
export interface ShimNode {
  readonly path: string;
  /** `drm`, `accel`, or `sw_sync` (a debugfs file, not a device). */
  readonly kind: "drm" | "accel" | "sw_sync";
  readonly major: number;
  readonly minor: number;
  /** The driver's name and the device's, for sysfs and debugfs. */
  readonly driver?: string;
  readonly device?: string;
}

/** Writes `nodes`, `clock`, `buf/` and `fs/` under `root`. */
export function writeTree(root: string, nodes: readonly ShimNode[]): void {
  fs.mkdirSync(path.join(root, "buf"), { recursive: true });
  fs.writeFileSync(
    path.join(root, "nodes"),
    nodes.map((n) => `${n.path} ${n.kind} ${n.major} ${n.minor}\n`).join(""),
  );
  const fsRoot = path.join(root, "fs");
  const mk = (p: string) => fs.mkdirSync(path.join(fsRoot, p), { recursive: true });
  const put = (p: string, text: string) => {
    mk(path.dirname(p));
    fs.writeFileSync(path.join(fsRoot, p), text);
  };
  const link = (target: string, p: string) => {
    mk(path.dirname(p));
    fs.rmSync(path.join(fsRoot, p), { force: true });
    fs.symlinkSync(path.join(fsRoot, target), path.join(fsRoot, p));
  };
  mk("sys/kernel/debug/sync");
  mk("sys/bus/platform");
  mk("dev/dri");
  for (const n of nodes) {
    if (n.kind === "sw_sync") continue;
    const name = path.basename(n.path);
    // The listing opendir("/dev/dri") shows; the node itself is opened through the server.
    put(n.path, "");
    const devdir = `sys/devices/drmsim/${n.device ?? "drmsim"}`;
    const cls = n.kind === "accel" ? "accel" : "drm";
    const nodeDir = `${devdir}/${cls}/${name}`;
    put(`${nodeDir}/dev`, `${n.major}:${n.minor}\n`);
    put(`${nodeDir}/uevent`, `MAJOR=${n.major}\nMINOR=${n.minor}\nDEVNAME=${n.path.slice(5)}\n`);
    put(`${devdir}/uevent`, `DRIVER=${n.driver ?? ""}\nMODALIAS=platform:${n.device ?? "drmsim"}\n`);
    link("sys/bus/platform", `${devdir}/subsystem`);
    link(devdir, `${nodeDir}/device`);
    link(nodeDir, `sys/dev/char/${n.major}:${n.minor}`);
    link(nodeDir, `sys/class/${cls}/${name}`);
    put(
      `sys/kernel/debug/${cls === "accel" ? "accel" : "dri"}/${n.minor}/name`,
      `${n.driver ?? ""} dev=${n.device ?? ""} unique=${n.device ?? ""}\n`,
    );
  }
}

/** The virtual clock page every client maps. */
export class ClockPage {
  private readonly fd: number;
  private last = -1;

  constructor(root: string) {
    this.fd = fs.openSync(path.join(root, "clock"), "w+");
    fs.ftruncateSync(this.fd, 4096);
    this.publish(0);
  }

  /** Publishes `nowNs` (before any thread runs again). */
  publish(nowNs: number): void {
    if (nowNs === this.last) return;
    this.last = nowNs;
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(nowNs), 0);
    fs.writeSync(this.fd, b, 0, 8, 0);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
