/**
 * What a scheduler fence and its job wait for, for the forward-progress verdicts
 * (`explainProgress` in `@drmsim/runtime`). The scheduler knows where every job it was given is:
 * queued behind another job, waiting for a dependency or a `prepare_job` fence, short of credits,
 * behind the run-job work, or handed to the driver with a hardware fence. Two of those are roots:
 * a scheduler whose submission was stopped and never restarted, and a job the driver holds
 * somewhere of its own — armed but never pushed, or accepted by `run_job` with a hardware fence
 * that nothing will signal (a private backlog, seed 002's side channel).
 */
import type { DmaFence } from "@drmsim/dma-fence";
import {
  type ProgressStep,
  type ProgressWalk,
  registerProgressExplainer,
  type Simulator,
  stuckHardwareEngines,
} from "@drmsim/runtime";
import { DrmSchedJob } from "./job.js";
import { DrmSchedFence, DrmSchedFenceScheduled } from "./sched-fence.js";
import type { DrmGpuScheduler } from "./scheduler.js";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /**
     * A job the driver holds outside the scheduler and the hardware — armed and never pushed, or
     * accepted by `run_job` and kept in a private backlog — that nothing will submit: a side
     * channel instead of a fence dependency (seed 002).
     */
    "job-in-driver-backlog": true;
    /** Jobs queued on a scheduler whose submission was stopped (or torn down) and is never restarted. */
    "sched-stopped": true;
  }
}

const BACKLOG_RULE =
  "A scheduler job may depend on fences and nothing else (seed 002). When the hardware has no room " +
  "for it yet, return a fence from prepare_job (the oldest job that must retire first) or charge " +
  "credits, so the scheduler holds the job and the fence wakes it up. A driver that keeps jobs in a " +
  "list of its own and submits them when 'something' kicks it has a wake-up nobody checks: the first " +
  "kick it misses leaves the job there forever, its fences unsignalled.";

const INSTALLED = {};

/** @internal Registers the scheduler's explainer with `sim` (once; from the first scheduler). */
export function installSchedProgress(sim: Simulator): void {
  sim.subsystem(INSTALLED, () => {
    registerProgressExplainer(sim, (obj, walk) => {
      if (obj instanceof DrmSchedFence) return fenceStep(obj, obj);
      if (obj instanceof DrmSchedFenceScheduled) return fenceStep(obj, obj.schedFence);
      if (obj instanceof DrmSchedJob) return jobStep(obj, walk);
      return undefined;
    });
    return true;
  });
}

function fenceStep(f: DmaFence, s: DrmSchedFence): ProgressStep | undefined {
  if (f.signaled) return undefined;
  const job = findJob(s);
  const which = f instanceof DrmSchedFence ? "finished" : "scheduled";
  if (job === null)
    return {
      what: `${f.describe()} is the ${which} fence of a job that is neither queued on ${s.sched.name} nor running on it`,
      root: {
        kind: "job-in-driver-backlog",
        title: `the job of ${f.describe()} was armed but never pushed to the scheduler: the driver holds it`,
        explanation:
          "After drm_sched_job_arm() the job's fences exist and may already be published (a syncobj, " +
          "a reservation object), so the job must be pushed (drm_sched_entity_push_job) right away. " +
          BACKLOG_RULE,
      },
    };
  return { what: `${f.describe()} is the ${which} fence of ${job.describe()}`, next: [job] };
}

function jobStep(job: DrmSchedJob, walk: ProgressWalk): ProgressStep | undefined {
  const sched = job.sched;
  if (job.state === "armed")
    return {
      what: `${job.describe()} was armed but never pushed`,
      root: {
        kind: "job-in-driver-backlog",
        title: `${job.describe()} was armed but never pushed to the scheduler: the driver holds it`,
        explanation: BACKLOG_RULE,
      },
    };
  if (job.state === "queued") return queuedStep(job, sched);
  if (job.state !== "running") return undefined;
  const parent = job.sFence?.parent ?? null;
  if (parent === null || parent.signaled)
    return { what: `${job.describe()} was handed to run_job on ${sched.name} and is completing` };
  if (walk.isKnown(parent))
    return {
      what: `${job.describe()} runs on ${sched.name}: it waits for its hardware fence ${parent.describe()}`,
      next: [parent],
    };
  // A hung or crashed engine, not a driver backlog, may be what holds the hardware fence.
  const hung = stuckHardwareEngines(walk.sim);
  if (hung.length > 0)
    return {
      what: `${job.describe()} runs on ${sched.name}: its hardware fence ${parent.describe()} waits for stuck hardware`,
      next: hung,
    };
  return {
    what: `${job.describe()} was handed to run_job on ${sched.name}, which returned ${parent.describe()}; nothing will signal that fence`,
    root: {
      kind: "job-in-driver-backlog",
      title: `${job.describe()}: run_job on ${sched.name} accepted it, but its hardware fence ${parent.describe()} has nothing behind it — the driver keeps the job in a backlog nothing kicks`,
      explanation:
        "run_job returned a hardware fence, so the scheduler counts the job as on the hardware; but no " +
        "hardware command stands behind that fence and nothing is left to run, so the driver is holding " +
        `the job itself. ${BACKLOG_RULE}`,
    },
  };
}

function queuedStep(job: DrmSchedJob, sched: DrmGpuScheduler): ProgressStep {
  const e = job.entity;
  const head = e.peek();
  if (head !== undefined && head !== job)
    return {
      what: `${job.describe()} is queued on entity ${e.name} behind ${head.describe()}`,
      next: [head],
    };
  const dep = e.dependency;
  if (dep !== null)
    return {
      what: `${job.describe()} waits for ${dep.describe()} (a dependency or prepare_job fence)`,
      next: [dep],
    };
  const stopped = (title: string, what: string): ProgressStep => ({
    what: `${job.describe()} is ready, but ${what}`,
    root: {
      kind: "sched-stopped",
      title,
      explanation:
        "The scheduler picks a job only while its submission runs. drm_sched_wqueue_stop / drm_sched_stop " +
        "(around a reset, a suspend, a firmware reload) must be paired with drm_sched_wqueue_start / " +
        "drm_sched_start on every path, error paths included; and a scheduler or entity must not be torn " +
        "down while work is still queued on it. Nothing else restarts it: queued jobs wait forever.",
    },
  });
  if (e.stopped)
    return stopped(
      `entity ${e.name} was stopped (killed or torn down) with jobs still queued`,
      `entity ${e.name} was stopped`,
    );
  if (!sched.ready)
    return stopped(
      `${sched.name} was torn down (drm_sched_fini) with jobs still queued`,
      `${sched.name} was torn down`,
    );
  if (sched.paused)
    return stopped(
      `submission on ${sched.name} was stopped (drm_sched_wqueue_stop / drm_sched_stop) and nothing restarts it`,
      `submission on ${sched.name} is stopped`,
    );
  if (sched.availableCredits < job.credits) {
    const oldest = sched.pendingJobs()[0];
    return {
      what: `${job.describe()} needs ${job.credits} credit(s); ${sched.availableCredits} of ${sched.creditLimit} are free on ${sched.name}`,
      next: oldest === undefined ? [] : [oldest],
    };
  }
  const work = sched.runWorkItem;
  if (work.pending)
    return { what: `${job.describe()} is ready and waits for ${sched.name}'s run-job work`, next: [work] };
  return stopped(
    `${job.describe()} is ready on ${sched.name}, but no run-job work is queued (a lost wake-up)`,
    "no run-job work is queued",
  );
}

/** The job behind a scheduler fence: on the pending list, or queued on an entity of its scheduler. */
function findJob(s: DrmSchedFence): DrmSchedJob | null {
  const sched = s.sched;
  for (const j of sched.pendingJobs()) if (j.sFence === s) return j;
  for (const rq of sched.rqs)
    for (const e of rq.entities) for (const j of e.queuedJobs()) if (j.sFence === s) return j;
  return null;
}
