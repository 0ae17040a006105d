// The API reference UI (Scalar's standalone bundle, version pinned in package.json), embedded in
// the compiled binary as a file, so /swagger loads nothing from elsewhere and works offline.
// The bundle is not in the package's exports map, hence the path into node_modules; it is a
// plain script with no type declarations, and `type: "file"` only yields its path.
// @ts-expect-error TS7016: no declaration file for a script imported as a file
import scalarBundlePath from "../../node_modules/@scalar/api-reference/dist/browser/standalone.js" with { type: "file" };

export const SCALAR_BUNDLE_PATH: string = scalarBundlePath;
import scalarPackage from "../../node_modules/@scalar/api-reference/package.json";

/** In the bundle's URL, so browsers may keep it as long as they like: another version, another URL. */
export const SCALAR_VERSION: string = scalarPackage.version;
