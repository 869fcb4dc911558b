/** The Chromium launch flags shared by the browser tests, the benchmark and the screenshot script. */
export declare const CHROMIUM_ARGS: readonly string[];
