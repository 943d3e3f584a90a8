// twill-bgp against FRR in network namespaces: see ./scenario.ts for the topology and steps.
import { interopSuite } from './scenario.js';

interopSuite('frr');
