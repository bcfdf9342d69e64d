// The tool version written into every profile and printed by --version.
export const TOOL_VERSION = "0.1.0";
