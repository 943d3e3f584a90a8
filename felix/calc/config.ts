// The effective agent configuration: built-in defaults, overlaid with FelixConfiguration
// "default", then "node.<nodeName>".

import { FELIX_CONFIGURATION_DEFAULTS } from '../../src/api/defaults.js';
import type { FelixConfigurationSpec } from '../../src/api/types.js';
import type { EffectiveConfig } from './types.js';

function overlay(target: Record<string, unknown>, spec: FelixConfigurationSpec | undefined): void {
  if (spec === undefined || spec === null) return;
  for (const [k, v] of Object.entries(spec)) if (v !== undefined && v !== null) target[k] = structuredClone(v);
}

export function effectiveConfig(
  fallbackPrefix: string | undefined,
  globalSpec: FelixConfigurationSpec | undefined,
  nodeSpec: FelixConfigurationSpec | undefined,
): EffectiveConfig {
  const out: Record<string, unknown> = {};
  overlay(out, FELIX_CONFIGURATION_DEFAULTS);
  out.interfacePrefix ??= 'tw';
  out.iptablesMarkMask ??= 0xffff0000;
  out.defaultEndpointToHostAction ??= 'Drop';
  out.ipv6Support ??= true;
  out.iptablesRefreshInterval ??= '90s';
  out.routeRefreshInterval ??= '90s';
  out.iptablesBackend ??= 'Auto';
  out.routeProtocol ??= 84; // RTPROT_TWILL
  if (fallbackPrefix !== undefined) out.interfacePrefix = fallbackPrefix;
  overlay(out, globalSpec);
  overlay(out, nodeSpec);
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(out).sort()) sorted[k] = out[k];
  return sorted as unknown as EffectiveConfig;
}
