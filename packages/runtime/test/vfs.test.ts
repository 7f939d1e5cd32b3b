import { describe, expect, it } from "vitest";
import {
  __s32,
  EPOLLIN,
  EPOLLNVAL,
  EPOLLOUT,
  File,
  type FileOperations,
  ioctlDef,
  ioctlTable,
  iowr,
  KernelError,
  listCharDevices,
  msecs,
  type PollFd,
  Process,
  registerCharDevice,
  Simulator,
  uapiStruct,
} from "../src/index.js";

interface Counter {
  value: number;
  released: boolean;
}

/** `struct counter_add`: in `n`, out `value`. */
const counter_add = uapiStruct("counter_add", { n: __s32, value: __s32 }, { size: 8 });
const COUNTER_ADD = iowr("c", 1, counter_add.size);

const counterFops: FileOperations<Counter> = {
  kind: "counter",
  ...ioctlTable<Counter>(
    [
      ioctlDef("COUNTER_ADD", COUNTER_ADD, counter_add, (file, args) => {
        if (args.n <= 0) throw new KernelError("EINVAL", "n must be a positive number");
        file.priv.value += args.n;
        file.notifyPoll();
        args.value = file.priv.value;
      }),
    ],
    "counter",
  ),
  poll: (file) => (file.priv.value > 0 ? EPOLLIN : 0),
  release(file) {
    file.priv.released = true;
  },
};

function setup() {
  const sim = new Simulator();
  const state: Counter = { value: 0, released: false };
  registerCharDevice(sim, "/dev/counter", () => new File(sim, counterFops, state, 2, "/dev/counter"));
  return { sim, state };
}

describe("vfs: processes, fds and devices", () => {
  it("opens devices into the lowest free fd from 3; ENOENT for an unknown path", async () => {
    const { sim } = setup();
    const p = new Process(sim, "app");
    const fds = await sim.exec("app", async () => [
      await p.open("/dev/counter"),
      await p.open("/dev/counter"),
    ]);
    expect(fds).toEqual([3, 4]);
    p.close(3);
    expect(await sim.exec("app", () => p.open("/dev/counter"))).toBe(3);
    await expect(sim.exec("app", () => p.open("/dev/nope"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(listCharDevices(sim, "/dev")).toEqual(["/dev/counter"]);
    expect(() =>
      registerCharDevice(sim, "/dev/counter", () => {
        throw new Error("unreachable");
      }),
    ).toThrow(/already exists/);
    p.exit();
  });

  it("close of a closed fd is EBADF; exit closes everything and later calls get ESRCH", async () => {
    const { sim, state } = setup();
    const p = new Process(sim, "app");
    const fd = await sim.exec("app", () => p.open("/dev/counter"));
    p.close(fd);
    expect(() => p.close(fd)).toThrow(expect.objectContaining({ code: "EBADF" }));
    expect(state.released).toBe(true);
    await sim.exec("app", () => p.open("/dev/counter"));
    p.exit();
    expect(p.files.size).toBe(0);
    await expect(sim.exec("app", () => p.open("/dev/counter"))).rejects.toMatchObject({ code: "ESRCH" });
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an fd passed to another process keeps the file alive after the sender closes it", async () => {
    const { sim, state } = setup();
    const a = new Process(sim, "a");
    const b = new Process(sim, "b");
    const fd = await sim.exec("a", () => a.open("/dev/counter"));
    const fdInB = a.sendFd(b, fd);
    a.close(fd);
    expect(state.released).toBe(false);
    expect(() => a.file(fd)).toThrow(expect.objectContaining({ code: "EBADF" }));
    const r = await sim.exec("b", () => b.ioctl<{ value: number }>(fdInB, COUNTER_ADD, { n: 2 }));
    expect(r.value).toBe(2);
    b.exit();
    a.exit();
    expect(state.released).toBe(true);
  });

  it("copies ioctl results back only on success, leaving a rejected call's arguments untouched", async () => {
    const { sim } = setup();
    const p = new Process(sim, "app");
    const fd = await sim.exec("app", () => p.open("/dev/counter"));
    const good = { n: 3, value: -1 };
    await sim.exec("app", () => p.ioctl(fd, COUNTER_ADD, good));
    expect(good.value).toBe(3);
    const bad = { n: -1, value: -1 };
    await expect(sim.exec("app", () => p.ioctl(fd, COUNTER_ADD, bad))).rejects.toMatchObject({
      code: "EINVAL",
      syscall: "COUNTER_ADD",
    });
    expect(bad).toEqual({ n: -1, value: -1 });
    await expect(sim.exec("app", () => p.ioctl(99, COUNTER_ADD, {}))).rejects.toMatchObject({
      code: "EBADF",
    });
    p.exit();
  });

  it("polls: ready now, ready later at the virtual time it became ready, timeout, EPOLLNVAL, EINTR", async () => {
    const { sim, state } = setup();
    const p = new Process(sim, "app");
    const fd = await sim.exec("app", () => p.open("/dev/counter"));
    const f = p.file(fd);
    expect(await sim.exec("app", () => p.poll([{ fd, events: EPOLLIN }], 0))).toBe(0);
    expect(await sim.exec("app", () => p.poll([{ fd, events: EPOLLIN }], msecs(1)))).toBe(0);
    sim.schedule(msecs(5), () => {
      state.value = 1;
      f.notifyPoll();
    });
    const start = sim.now;
    const pfd: PollFd = { fd, events: EPOLLIN | EPOLLOUT };
    expect(await sim.exec("app", () => p.poll([pfd]))).toBe(1);
    expect(pfd.revents).toBe(EPOLLIN);
    expect(sim.now - start).toBe(msecs(5));
    const bad: PollFd = { fd: 77, events: EPOLLIN };
    expect(await sim.exec("app", () => p.poll([bad]))).toBe(1);
    expect(bad.revents).toBe(EPOLLNVAL);
    state.value = 0;
    const t = p.run(() => p.poll([{ fd, events: EPOLLIN }]));
    sim.schedule(msecs(1), () => t.signal());
    await sim.run();
    await expect(t.result).rejects.toMatchObject({ code: "EINTR" });
    p.exit();
  });

  it("associates a process's tasks with the process", async () => {
    const { sim } = setup();
    const p = new Process(sim, "compositor");
    const t = p.run(() => sim.current.process);
    await sim.run();
    expect(await t.result).toBe(p);
    expect(p.pid).toBe(1000);
    expect(new Process(sim, "other").pid).toBe(1001);
  });
});
