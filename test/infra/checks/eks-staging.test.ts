import { describeOutcomes } from './suite.js';

describeOutcomes('staging', 'eks');
