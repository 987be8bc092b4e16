// tsc copies no Lua; the built app reads its scripts from dist/app/store/lua.
import { cpSync } from 'node:fs';

cpSync('app/store/lua', 'dist/app/store/lua', { recursive: true });
