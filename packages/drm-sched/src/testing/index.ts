/**
 * `@drmsim/drm-sched/testing`: the kernel's KUnit mock scheduler (`tests/mock_scheduler.c`) for
 * tests of drivers and of the scheduler itself.
 */
export * from "./mock-scheduler.js";
