// Tests never log request lines unless asked: keeps `bun test` output readable.
process.env.LOG_LEVEL ??= "error";
