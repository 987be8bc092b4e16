import { describeOutcomes } from './suite.js';

describeOutcomes('staging', 'ecs');
