export * from "./identity";
export * from "./keys";
export * from "./chat";
export * from "./messaging";
export * from "../../rate-limits/schema";
