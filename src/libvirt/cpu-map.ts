// The libvirt CPU map cpuprof exports against (generated from a real libvirt's cpu_map).
export { LIBVIRT_CPU_MAP } from "./cpu-map-9.0.ts";
