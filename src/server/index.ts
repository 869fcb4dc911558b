// Placeholder entry for 'surelink/server' so `npm run build` has an input; the server engineer
// replaces it with createRealtimeServer and its types.
export {};
