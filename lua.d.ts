// Lua scripts are imported as text: `import src from "./lua/x-1.lua" with { type: "text" }`.
declare module "*.lua" {
  const source: string;
  export default source;
}
