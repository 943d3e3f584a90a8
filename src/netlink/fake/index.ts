// The in-memory netlink fake for unit tests: FakeKernel.open() gives a NetlinkHandle that follows
// the kernel's rules that matter (see README.md for what it models and what it leaves out).
export { FakeKernel } from './kernel.js';
export type { FakeNetns } from './netns.js';
