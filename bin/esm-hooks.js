// A module hook that loads TypeScript files outside node_modules as ES
// modules. Spiders are written with `import`, but a project whose
// package.json lacks "type": "module" (what `npm init` makes) would have tsx
// load them as CommonJS, and Node 20 then fails with ERR_REQUIRE_CYCLE_MODULE.
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  if (/\.(c|m)?ts$/.test(result.url) && !result.url.endsWith('.cts') && result.url.startsWith('file:') && !result.url.includes('/node_modules/'))
    return { ...result, format: 'module' };
  return result;
}
