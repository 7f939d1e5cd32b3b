/**
 * `drmsim serve`: a simulator with devices, reachable by real programs through the preload
 * library. Each program thread connects on its own; its requests run as tasks of a `ShimProcess`
 * (one per real process), and the answers go back on the thread's down pipe.
 *
 * Virtual time (the rule that makes runs deterministic): the server runs every event due at the
 * current virtual time, and moves the clock to the next event only while every attached thread
 * is blocked — in a forwarded call, a virtual sleep, or a real wait for a thread or process that
 * is still attached (pthread_join, waitpid) — and no fork or thread creation is half done. A
 * program therefore never sees time move while it runs, and a test that sleeps 5 s returns at once.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { DrmPluginHost } from "@drmsim/drm";
import { drmProcessSetRoot, EFD_SEMAPHORE, eventfd, eventfdRead } from "@drmsim/drm";
import {
  EPOLLIN,
  type ExecutionContext,
  type File,
  isKernelError,
  lookupCharDevice,
  O_CLOEXEC,
  type PollFd,
  SIGURG,
  Simulator,
  type Task,
  UapiUserArg,
} from "@drmsim/runtime";
import { BackingRegistry } from "./backing.js";
import { ClientThread } from "./channel.js";
import { type ShimScenario, setupDevices } from "./devices.js";
import { ShimMappings } from "./mmap.js";
import { type Message, MessageReader, Msg } from "./protocol.js";
import { ShimProcess } from "./shim-process.js";
import { ClockPage, type ShimNode, writeTree } from "./tree.js";
import { ShimUserMemory } from "./user-memory.js";

const EINTR = -4;
const EINVAL = -22;
const EBADF = -9;
const EAGAIN = -11;
const O_NONBLOCK = 0o4000;

/** Options of `startShimServer`. */
export interface ShimServerOptions {
  /** The unix socket path (default: `<root>/sock`). */
  socket?: string;
  /** The server's directory (default: a new one under the system's temp dir). */
  root?: string;
  /** Adds devices to the defaults. */
  scenario?: ShimScenario;
  /** Seeds the simulator. */
  seed?: number;
  /** Where to say what goes wrong (default: stderr). */
  log?: (line: string) => void;
}

/** A running server. */
export interface ShimServer {
  readonly sim: Simulator;
  readonly host: DrmPluginHost;
  readonly socket: string;
  readonly root: string;
  readonly nodes: readonly ShimNode[];
  /** The environment a program needs (besides LD_PRELOAD). */
  readonly env: Record<string, string>;
  /** Attached threads now. */
  readonly threads: number;
  /** Simulated files still held by a program. */
  readonly backings: number;
  /** Resolves once no thread is attached and no simulated file is held (every program exited). */
  whenIdle(): Promise<void>;
  close(): Promise<void>;
}

let warningFiltered = false;

/**
 * A backing's read end is closed by libuv at once but forgotten by Node's fd bookkeeping only in a
 * later callback, so a new read end that reuses the number makes Node warn that the fd was
 * "opened in unmanaged mode twice". Harmless here; the warning is dropped, nothing else.
 */
function filterFdReuseWarning(): void {
  if (warningFiltered) return;
  warningFiltered = true;
  const emit = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === "string" ? warning : warning.message;
    if (/^File descriptor \d+ opened in unmanaged mode twice$/.test(text)) return;
    (emit as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}

/** Starts a server; resolves once it listens. */
export async function startShimServer(opts: ShimServerOptions = {}): Promise<ShimServer> {
  filterFdReuseWarning();
  const root = opts.root ?? fs.mkdtempSync(path.join(os.tmpdir(), "drmsim-"));
  fs.mkdirSync(root, { recursive: true });
  const socket = opts.socket ?? path.join(root, "sock");
  fs.rmSync(socket, { force: true });
  const sim = new Simulator({ seed: opts.seed ?? 1, validator: "collect" });
  const { host, nodes } = await setupDevices(sim, opts.scenario);
  writeTree(root, nodes);
  const s = new Server(sim, root, nodes, opts);
  const srv = net.createServer((sock) => s.connect(sock));
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(socket, resolve);
  });
  return {
    sim,
    host,
    socket,
    root,
    nodes,
    env: { DRMSIM_SOCKET: socket, DRMSIM_ROOT: root },
    get threads() {
      return s.threadCount;
    },
    get backings() {
      return s.backingCount;
    },
    whenIdle: () => s.whenIdle(),
    async close() {
      await new Promise<void>((resolve) => srv.close(() => resolve()));
      s.close();
    },
  };
}

class Server {
  private readonly threads = new Set<ClientThread>();
  private readonly procs = new Map<number, ShimProcess>();
  private readonly registry: BackingRegistry;
  private readonly maps: ShimMappings;
  private readonly clock: ClockPage;
  /** Forks and thread creations begun but not yet attached: they count as running. */
  private readonly pendingStarts = new Set<number>();
  private nextToken = 1;
  /** Which thread a simulated context is serving. */
  private readonly ctxThread = new WeakMap<ExecutionContext, ClientThread>();
  private pumping = false;
  private pumpAgain = false;
  private stuckReported = -1;
  private readonly log: (line: string) => void;

  constructor(
    private readonly sim: Simulator,
    root: string,
    private readonly nodes: readonly ShimNode[],
    opts: ShimServerOptions,
  ) {
    this.log = opts.log ?? ((l) => process.stderr.write(`drmsim serve: ${l}\n`));
    this.clock = new ClockPage(root);
    this.maps = new ShimMappings(path.join(root, "buf"));
    this.registry = new BackingRegistry((file) => this.fput(file));
  }

  get threadCount(): number {
    return this.threads.size;
  }

  get backingCount(): number {
    return this.registry.size;
  }

  private idleWaiters: (() => void)[] = [];

  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  private checkIdle(): void {
    if (this.threads.size > 0 || this.registry.size > 0 || this.pumping) return;
    const ws = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of ws) w();
  }

  connect(sock: net.Socket): void {
    const reader = new MessageReader();
    let thread: ClientThread | undefined;
    sock.on("data", (chunk) => {
      for (const m of reader.push(chunk)) {
        try {
          if (thread === undefined) {
            if (m.type !== Msg.HELLO) throw new Error(`first message ${m.type} is not HELLO`);
            thread = this.hello(sock, m.payload);
          } else this.dispatch(thread, m);
        } catch (e) {
          this.log(
            `protocol error from ${thread ?? "a new client"}: ${e instanceof Error ? e.stack : String(e)}`,
          );
          sock.destroy();
        }
      }
      void this.pump();
    });
    const bye = () => {
      if (thread !== undefined) this.detach(thread);
      void this.pump();
    };
    sock.on("close", bye);
    sock.on("error", () => sock.destroy());
  }

  private hello(sock: net.Socket, p: Buffer): ClientThread {
    const pid = p.readInt32LE(0);
    const tid = p.readInt32LE(4);
    const ppid = p.readInt32LE(8);
    const downW = p.readInt32LE(12);
    const upR = p.readInt32LE(16);
    const token = p.readUInt32LE(20);
    const down = fs.openSync(`/proc/${pid}/fd/${downW}`, "w");
    const up = fs.openSync(`/proc/${pid}/fd/${upR}`, "r");
    const t = new ClientThread(pid, tid, sock, down, up);
    this.pendingStarts.delete(token);
    let proc = this.procs.get(pid);
    if (proc === undefined || proc.exited) {
      let name = `pid${pid}`;
      try {
        name = fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      } catch {
        // gone already; the name is only for reports
      }
      proc = new ShimProcess(this.sim, name, pid, ppid, this.registry, () =>
        this.ctxThread.get(this.sim.current),
      );
      // A program's signal handler interrupts a forwarded wait: EINTR, as a handler without
      // SA_RESTART makes it (with SA_RESTART the real kernel restarts the library's own read).
      proc.sigaction(SIGURG, { handler: () => {}, flags: 0 });
      try {
        if (fs.statSync(`/proc/${pid}`).uid === 0) drmProcessSetRoot(proc);
      } catch {
        // not root
      }
      this.procs.set(pid, proc);
    }
    this.threads.add(t);
    t.reply(0);
    return t;
  }

  private detach(t: ClientThread): void {
    if (!this.threads.delete(t)) return;
    t.interrupt?.();
    t.close();
    const proc = this.procs.get(t.pid);
    if (proc !== undefined && ![...this.threads].some((o) => o.pid === t.pid)) {
      this.procs.delete(t.pid);
      this.maps.dropProcess(proc);
      if (!proc.exited) proc.exit();
    }
  }

  private dispatch(t: ClientThread, m: Message): void {
    const p = m.payload;
    switch (m.type) {
      case Msg.IOCTL:
        this.ioctl(t, p);
        return;
      case Msg.OPEN:
        this.open(t, p);
        return;
      case Msg.POLL:
        this.poll(t, p);
        return;
      case Msg.SLEEP:
        this.sleep(t, p.readBigInt64LE(0));
        return;
      case Msg.INTERRUPT:
        t.interrupt?.();
        return;
      case Msg.QUERY: {
        // Which node (1 + index), another simulated file (1000) or none (0); then the file's access mode.
        const b = this.registry.get(p.readBigUInt64LE(0));
        const mode = Buffer.alloc(4);
        mode.writeInt32LE((b?.file.flags ?? 0) & 3, 0);
        t.reply(b === undefined ? 0 : b.node !== undefined ? 1 + b.node : 1000, mode);
        return;
      }
      case Msg.READ:
        this.read(t, p);
        return;
      case Msg.EVENTFD: {
        const initval = p.readUInt32LE(0);
        const sem = p.readInt32LE(4) & EFD_SEMAPHORE;
        this.call(t, "eventfd", async (proc) => ({ ret: eventfd(proc, initval, sem) }));
        return;
      }
      case Msg.MMAP:
        this.mmap(t, p);
        return;
      case Msg.FORK_BEGIN: {
        const token = this.nextToken++;
        this.pendingStarts.add(token);
        t.reply(token);
        return;
      }
      case Msg.FORK_END:
        if (p.readInt32LE(4) < 0) this.pendingStarts.delete(p.readUInt32LE(0));
        return;
      case Msg.BLOCK_BEGIN:
        t.state = { kind: "external", block: p.readUInt32LE(0), target: p.readInt32LE(4) };
        return;
      case Msg.BLOCK_END:
        t.state = { kind: "running" };
        return;
      case Msg.BYE:
        this.detach(t);
        return;
      default:
        throw new Error(`unknown request ${m.type}`);
    }
  }

  /** Runs `body` as a task of `t`'s process; its value (or `KernelError`) is the reply. */
  private call(
    t: ClientThread,
    what: string,
    body: (proc: ShimProcess) => Promise<{ ret: number; data?: Uint8Array }>,
  ): void {
    const proc = this.procs.get(t.pid)!;
    t.state = { kind: "call", what };
    this.maps.syncIn();
    let task: Task<{ ret: number; data?: Uint8Array }> | undefined;
    task = proc.run(async () => {
      this.ctxThread.set(this.sim.current, t);
      return body(proc);
    }, `${proc.name}:${t.tid}`);
    t.interrupt = () => {
      if (task !== undefined && task.state === "running") proc.kill(SIGURG, { thread: task });
    };
    task.result.then(
      (r) => this.reply(t, r.ret, r.data),
      (e: unknown) => this.reply(t, this.errnoOf(e, what)),
    );
  }

  private reply(t: ClientThread, ret: number, data?: Uint8Array): void {
    this.clock.publish(this.sim.now);
    this.maps.syncOut();
    t.reply(ret, data);
  }

  private errnoOf(e: unknown, what: string): number {
    if (isKernelError(e)) return e.errno;
    this.log(`${what} failed inside the simulation: ${e instanceof Error ? e.stack : String(e)}`);
    return EINVAL;
  }

  private bind(proc: ShimProcess, fd: number, ino: bigint): boolean {
    const b = this.registry.get(ino);
    if (b === undefined) return false;
    proc.files.bind(fd, b.file);
    return true;
  }

  private ioctl(t: ClientThread, p: Buffer): void {
    const fd = p.readInt32LE(0);
    const cmd = p.readUInt32LE(4);
    const ino = p.readBigUInt64LE(8);
    const arg = p.readBigUInt64LE(16);
    const pre = p.length > 24 ? new Uint8Array(p.subarray(24)) : undefined;
    const what = `ioctl(${fd}, 0x${cmd.toString(16)})`;
    this.call(t, what, async (proc) => {
      if (!this.bind(proc, fd, ino)) return { ret: EBADF };
      const size = (cmd >>> 16) & 0x3fff;
      const mem = new ShimUserMemory(t, arg, size, pre);
      try {
        await proc.ioctl(fd, cmd, new UapiUserArg(arg, mem));
        return { ret: 0, data: mem.writeback() };
      } catch (e) {
        // A failed DRM ioctl still copies its argument back (drm_ioctl): the reply carries it.
        return { ret: this.errnoOf(e, what), data: mem.writeback() };
      }
    });
  }

  private open(t: ClientThread, p: Buffer): void {
    const flags = p.readInt32LE(0);
    const rfd = p.readInt32LE(4);
    const wfd = p.readInt32LE(8);
    const file = p.subarray(16).toString("utf8");
    const node = this.nodes.findIndex((n) => n.path === file);
    this.call(t, `open(${file})`, async (proc) => {
      const opener = lookupCharDevice(this.sim, file);
      const f: File = await opener(proc, flags);
      this.registry.add(t.pid, rfd, f, node < 0 ? undefined : node);
      t.moveFd(rfd, wfd, (flags & O_CLOEXEC) !== 0);
      proc.files.bind(rfd, f);
      return { ret: 0 };
    });
  }

  private poll(t: ClientThread, p: Buffer): void {
    const timeout = p.readBigInt64LE(0);
    const n = p.readUInt32LE(8);
    const ents: { fd: number; events: number; ino: bigint }[] = [];
    for (let i = 0; i < n; i++) {
      const o = 12 + i * 16;
      ents.push({ fd: p.readInt32LE(o), events: p.readInt16LE(o + 4), ino: p.readBigUInt64LE(o + 8) });
    }
    this.call(t, "poll", async (proc) => {
      const fds: PollFd[] = ents.map((e) => ({
        fd: this.bind(proc, e.fd, e.ino) ? e.fd : -1,
        events: e.events,
        revents: 0,
      }));
      const ready = await proc.poll(fds, timeout < 0n ? undefined : Number(timeout));
      const out = Buffer.alloc(2 * n);
      fds.forEach((f, i) => {
        out.writeInt16LE(((f.revents ?? 0) << 16) >> 16, 2 * i);
      });
      return { ret: ready, data: out };
    });
  }

  private sleep(t: ClientThread, ns: bigint): void {
    t.state = { kind: "call", what: "nanosleep" };
    const start = this.sim.now;
    const dur = Number(ns);
    const timer = this.sim.schedule(Math.max(0, dur), () => this.reply(t, 0));
    t.interrupt = () => {
      if (!timer.cancel()) return;
      const left = Buffer.alloc(8);
      left.writeBigInt64LE(BigInt(Math.max(0, start + dur - this.sim.now)), 0);
      this.reply(t, EINTR, left);
    };
  }

  /**
   * `read`. drmsim's drivers queue no DRM events (no vblank, no page flip), so a DRM fd reads as
   * `drm_read` with an empty event list: `EAGAIN` when non-blocking, otherwise a wait only a signal
   * ends. sync_file, dma-buf and sw_sync files have no `read` in the kernel: `EINVAL`.
   */
  private read(t: ClientThread, p: Buffer): void {
    const fd = p.readInt32LE(0);
    const count = p.readUInt32LE(4);
    const ino = p.readBigUInt64LE(8);
    const b = this.registry.get(ino);
    const flags = p.length >= 20 ? p.readInt32LE(16) : 0;
    if (b?.file.fops.kind === "eventfd") {
      this.readEventfd(t, fd, ino, count, (flags & O_NONBLOCK) !== 0);
      return;
    }
    const now =
      b === undefined ? EBADF : b.file.fops.kind !== "drm" ? EINVAL : flags & O_NONBLOCK ? EAGAIN : 0;
    if (now !== 0) {
      t.reply(now);
      return;
    }
    t.state = { kind: "call", what: "read of a DRM fd (no DRM event will come)" };
    t.interrupt = () => this.reply(t, EINTR);
  }

  /**
   * `eventfd_read`: the counter (8 bytes) and zero it (one with `EFD_SEMAPHORE`); `EINVAL` for a
   * buffer under 8 bytes; with a zero counter `EAGAIN` when non-blocking, else a wait until it is
   * not (interruptible).
   */
  private readEventfd(t: ClientThread, fd: number, ino: bigint, count: number, nonblock: boolean): void {
    this.call(t, "read(eventfd)", async (proc) => {
      if (!this.bind(proc, fd, ino)) return { ret: EBADF };
      if (count < 8) return { ret: EINVAL };
      for (;;) {
        try {
          const out = Buffer.alloc(8);
          out.writeBigUInt64LE(BigInt(eventfdRead(proc, fd)), 0);
          return { ret: 8, data: out };
        } catch (e) {
          if (!isKernelError(e) || e.code !== "EAGAIN" || nonblock) throw e;
        }
        await proc.poll([{ fd, events: EPOLLIN, revents: 0 }]);
      }
    });
  }

  private mmap(t: ClientThread, p: Buffer): void {
    const fd = p.readInt32LE(0);
    const prot = p.readInt32LE(4);
    const ino = p.readBigUInt64LE(8);
    const offset = p.readBigUInt64LE(16);
    const length = Number(p.readBigUInt64LE(24));
    this.call(t, "mmap", async (proc) => {
      if (!this.bind(proc, fd, ino)) return { ret: EBADF };
      // The kernel's own mmap of the file; the program maps the shared file that mirrors it, from 0.
      const name = Buffer.from(await this.maps.map(proc, fd, offset, length, prot), "utf8");
      const out = Buffer.alloc(8 + name.length);
      out.writeBigUInt64LE(0n, 0);
      out.set(name, 8);
      return { ret: 0, data: out };
    });
  }

  /** The last reference to a simulated file went away in the real kernel. */
  private fput(file: File): void {
    this.sim.spawn("fput", () => file.put());
    void this.pump();
  }

  private blocked(t: ClientThread): boolean {
    const s = t.state;
    if (s.kind === "call") return true;
    if (s.kind === "running") return false;
    const others = [...this.threads].filter((o) => o !== t);
    // pthread_join: blocked while another thread of its process is still attached.
    if (s.block === 1) return others.some((o) => o.pid === t.pid);
    // waitpid(pid): blocked while the child (any child for -1 and 0) still has a thread attached.
    const childPids = new Set(
      [...this.procs.values()].filter((p) => p.parentPid === t.pid).map((p) => p.realPid),
    );
    return others.some((o) => (s.target > 0 ? o.pid === s.target : childPids.has(o.pid)));
  }

  private allBlocked(): boolean {
    if (this.pendingStarts.size > 0 || this.threads.size === 0) return false;
    for (const t of this.threads) if (!this.blocked(t)) return false;
    return true;
  }

  /** Runs what is due now; moves time on while every thread is blocked. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        await this.sim.run({ untilNs: this.sim.now });
        if (this.allBlocked()) {
          const next = this.sim.nextEventNs;
          if (next !== undefined) {
            await this.sim.run({ untilNs: next });
            this.pumpAgain = true;
          } else if (this.stuckReported !== this.sim.now) {
            this.stuckReported = this.sim.now;
            const who = [...this.threads].map(
              (t) => `${t} in ${t.state.kind === "call" ? t.state.what : "a wait"}`,
            );
            this.log(
              `every thread is blocked and nothing is pending: the program waits forever (${who.join(", ")})`,
            );
          }
        }
      } while (this.pumpAgain);
    } catch (e) {
      this.log(`simulation error: ${e instanceof Error ? e.stack : String(e)}`);
    } finally {
      this.pumping = false;
    }
    this.checkIdle();
  }

  close(): void {
    for (const t of [...this.threads]) this.detach(t);
    this.registry.closeAll();
    this.maps.closeAll();
    this.clock.close();
  }
}
