/** Reported as serverInfo.version; a test keeps it equal to package.json's version. */
export const SERVER_NAME = 'mcp-fleet';
export const SERVER_VERSION = '0.1.0';
