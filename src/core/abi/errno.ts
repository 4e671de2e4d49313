/** Linux x86_64 errno values that the address-space calls can return. */
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EIO = 5;
export const EBADF = 9;
export const ECHILD = 10;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EISDIR = 21;
export const EINVAL = 22;
export const EMFILE = 24;
export const ETXTBSY = 26;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const ERANGE = 34;
export const ENOSYS = 38;
export const EOVERFLOW = 75;
export const EOPNOTSUPP = 95;

export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  [EPERM]: "EPERM",
  [ENOENT]: "ENOENT",
  [EINTR]: "EINTR",
  [EIO]: "EIO",
  [EBADF]: "EBADF",
  [ECHILD]: "ECHILD",
  [EAGAIN]: "EAGAIN",
  [ENOMEM]: "ENOMEM",
  [EACCES]: "EACCES",
  [EFAULT]: "EFAULT",
  [EBUSY]: "EBUSY",
  [EEXIST]: "EEXIST",
  [ENODEV]: "ENODEV",
  [EISDIR]: "EISDIR",
  [EINVAL]: "EINVAL",
  [EMFILE]: "EMFILE",
  [ETXTBSY]: "ETXTBSY",
  [EFBIG]: "EFBIG",
  [ENOSPC]: "ENOSPC",
  [ESPIPE]: "ESPIPE",
  [ERANGE]: "ERANGE",
  [ENOSYS]: "ENOSYS",
  [EOVERFLOW]: "EOVERFLOW",
  [EOPNOTSUPP]: "EOPNOTSUPP",
};

/** strerror() texts, for human-readable messages. */
export const ERRNO_MESSAGES: Readonly<Record<number, string>> = {
  [EPERM]: "Operation not permitted",
  [ENOENT]: "No such file or directory",
  [EINTR]: "Interrupted system call",
  [EIO]: "Input/output error",
  [EBADF]: "Bad file descriptor",
  [ECHILD]: "No child processes",
  [EAGAIN]: "Resource temporarily unavailable",
  [ENOMEM]: "Cannot allocate memory",
  [EACCES]: "Permission denied",
  [EFAULT]: "Bad address",
  [EBUSY]: "Device or resource busy",
  [EEXIST]: "File exists",
  [ENODEV]: "No such device",
  [EISDIR]: "Is a directory",
  [EINVAL]: "Invalid argument",
  [EMFILE]: "Too many open files",
  [ETXTBSY]: "Text file busy",
  [EFBIG]: "File too large",
  [ENOSPC]: "No space left on device",
  [ESPIPE]: "Illegal seek",
  [ERANGE]: "Numerical result out of range",
  [ENOSYS]: "Function not implemented",
  [EOVERFLOW]: "Value too large for defined data type",
  [EOPNOTSUPP]: "Operation not supported",
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}
