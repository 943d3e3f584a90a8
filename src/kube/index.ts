// Kubernetes objects → Twill resources (pure). Used by twillctl (apply/delete -f) and the
// Kubernetes controller.
export { KubeConvertError } from './errors.js';
export { convertNetworkPolicy, knpName, KNP_ORDER, KNP_PREFIX } from './policy.js';
export { convertNamespace, knsName, KNS_PREFIX } from './namespace.js';
export { convertPod, podEndpoints, podKey } from './pod.js';
export { twillKeyOf } from './keys.js';
export { K8S_POD_SELECTOR, namespaceSelectorText, podSelectorText } from './selector.js';
export { isKubeObject, KUBE_KINDS } from './types.js';
export type * from './types.js';
