// The retry policy of every reconciler here is the kernel writers' one policy, which lives in
// src/netlink (the BGP kernel sync uses it too).
export { KeyBackoff, type BackoffOptions, type FailureInfo } from '../../src/netlink/index.js';
