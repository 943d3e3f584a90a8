// twill-bgp against BIRD 2 in network namespaces: see ./scenario.ts for the topology and steps.
import { interopSuite } from './scenario.js';

interopSuite('bird');
