// What `import('#sockjs-client')` (the client's lazy load of sockjs-client) resolves to on the ESM pages (see their import map).
// sockjs-client ships CommonJS and a browser script but no ES module, so this module loads the
// script (which defines window.SockJS) and exports the constructor. The client imports it only when
// it falls back to SockJS: a page that stays on WebSocket never downloads sockjs-client.
if (typeof globalThis.SockJS !== 'function') {
  await new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = '/vendor/sockjs.min.js';
    script.onload = resolve;
    script.onerror = () => reject(new Error('could not load /vendor/sockjs.min.js'));
    document.head.append(script);
  });
}

export default globalThis.SockJS;
