// Linux x86_64 errno values by name, so errors say "EINVAL (22)" instead of a bare number.

export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EPIPE: 32,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ELOOP: 40,
  EOPNOTSUPP: 95,
  ETIMEDOUT: 110,
  EDQUOT: 122,
  EHWPOISON: 133,
} as const;

export type ErrnoName = keyof typeof ERRNO;

const NAME_OF = new Map<number, string>();
for (const name in ERRNO) NAME_OF.set(ERRNO[name as ErrnoName], name);

/** "EINVAL" for 22; "errno 99" for a value this table does not name. */
export function errnoName(errno: number): string {
  return NAME_OF.get(errno) ?? `errno ${errno}`;
}

/** "EINVAL (22)". */
export function describeErrno(errno: number): string {
  const name = NAME_OF.get(errno);
  return name ? `${name} (${errno})` : `errno ${errno}`;
}
