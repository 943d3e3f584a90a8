// twill-bgp against GoBGP in network namespaces: see ./scenario.ts for the topology and steps.
import { interopSuite } from './scenario.js';

interopSuite('gobgp');
