// The product's QMP client (src/qemu/qmp.ts), re-exported for tests.
export { QEMU_BINARY, Qmp, QmpError, findQemu } from "../../src/qemu/qmp.ts";
