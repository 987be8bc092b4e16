import { describeOutcomes } from './suite.js';

describeOutcomes('production', 'ecs');
