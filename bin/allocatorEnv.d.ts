// Types of bin/allocatorEnv.js (plain JavaScript: it runs before the CLI's modules are loaded).
export declare const ALLOCATOR_TUNABLES: string;
export declare const ALLOCATOR_COMMANDS: string[];
export declare function allocatorEnv(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): Record<string, string>;
