import { confirm } from './confirm.js';
import { countdown } from './countdown.js';
import { echo } from './echo.js';
import { nodeInfo } from './node-info.js';
import { notifyChange } from './notify-change.js';
import { recall } from './recall.js';
import { remember } from './remember.js';
import type { ToolDefinition } from './tool.js';

/** Every tool this server offers, in every era. Add a tool: write its file, then list it here. */
export const TOOLS: readonly ToolDefinition[] = [
  echo,
  nodeInfo,
  remember,
  recall,
  countdown,
  confirm,
  notifyChange,
];
