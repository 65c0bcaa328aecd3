//! riscv64 Linux syscall numbers: the generic table (`include/uapi/asm-generic/unistd.h`)
//! as riscv64 configures it (`__ARCH_WANT_NEW_STAT`, `__ARCH_WANT_SET_GET_RLIMIT`, no
//! `renameat`), plus the riscv-specific `riscv_hwprobe` (258) and `riscv_flush_icache`
//! (259). Generated from the riscv64 kernel headers; numbers above 450 from newer kernels.

pub const IO_SETUP: u64 = 0;
pub const IO_DESTROY: u64 = 1;
pub const IO_SUBMIT: u64 = 2;
pub const IO_CANCEL: u64 = 3;
pub const IO_GETEVENTS: u64 = 4;
pub const SETXATTR: u64 = 5;
pub const LSETXATTR: u64 = 6;
pub const FSETXATTR: u64 = 7;
pub const GETXATTR: u64 = 8;
pub const LGETXATTR: u64 = 9;
pub const FGETXATTR: u64 = 10;
pub const LISTXATTR: u64 = 11;
pub const LLISTXATTR: u64 = 12;
pub const FLISTXATTR: u64 = 13;
pub const REMOVEXATTR: u64 = 14;
pub const LREMOVEXATTR: u64 = 15;
pub const FREMOVEXATTR: u64 = 16;
pub const GETCWD: u64 = 17;
pub const LOOKUP_DCOOKIE: u64 = 18;
pub const EVENTFD2: u64 = 19;
pub const EPOLL_CREATE1: u64 = 20;
pub const EPOLL_CTL: u64 = 21;
pub const EPOLL_PWAIT: u64 = 22;
pub const DUP: u64 = 23;
pub const DUP3: u64 = 24;
pub const FCNTL: u64 = 25;
pub const INOTIFY_INIT1: u64 = 26;
pub const INOTIFY_ADD_WATCH: u64 = 27;
pub const INOTIFY_RM_WATCH: u64 = 28;
pub const IOCTL: u64 = 29;
pub const IOPRIO_SET: u64 = 30;
pub const IOPRIO_GET: u64 = 31;
pub const FLOCK: u64 = 32;
pub const MKNODAT: u64 = 33;
pub const MKDIRAT: u64 = 34;
pub const UNLINKAT: u64 = 35;
pub const SYMLINKAT: u64 = 36;
pub const LINKAT: u64 = 37;
pub const UMOUNT2: u64 = 39;
pub const MOUNT: u64 = 40;
pub const PIVOT_ROOT: u64 = 41;
pub const NFSSERVCTL: u64 = 42;
pub const STATFS: u64 = 43;
pub const FSTATFS: u64 = 44;
pub const TRUNCATE: u64 = 45;
pub const FTRUNCATE: u64 = 46;
pub const FALLOCATE: u64 = 47;
pub const FACCESSAT: u64 = 48;
pub const CHDIR: u64 = 49;
pub const FCHDIR: u64 = 50;
pub const CHROOT: u64 = 51;
pub const FCHMOD: u64 = 52;
pub const FCHMODAT: u64 = 53;
pub const FCHOWNAT: u64 = 54;
pub const FCHOWN: u64 = 55;
pub const OPENAT: u64 = 56;
pub const CLOSE: u64 = 57;
pub const VHANGUP: u64 = 58;
pub const PIPE2: u64 = 59;
pub const QUOTACTL: u64 = 60;
pub const GETDENTS64: u64 = 61;
pub const LSEEK: u64 = 62;
pub const READ: u64 = 63;
pub const WRITE: u64 = 64;
pub const READV: u64 = 65;
pub const WRITEV: u64 = 66;
pub const PREAD64: u64 = 67;
pub const PWRITE64: u64 = 68;
pub const PREADV: u64 = 69;
pub const PWRITEV: u64 = 70;
pub const SENDFILE: u64 = 71;
pub const PSELECT6: u64 = 72;
pub const PPOLL: u64 = 73;
pub const SIGNALFD4: u64 = 74;
pub const VMSPLICE: u64 = 75;
pub const SPLICE: u64 = 76;
pub const TEE: u64 = 77;
pub const READLINKAT: u64 = 78;
pub const NEWFSTATAT: u64 = 79;
pub const FSTAT: u64 = 80;
pub const SYNC: u64 = 81;
pub const FSYNC: u64 = 82;
pub const FDATASYNC: u64 = 83;
pub const SYNC_FILE_RANGE: u64 = 84;
pub const TIMERFD_CREATE: u64 = 85;
pub const TIMERFD_SETTIME: u64 = 86;
pub const TIMERFD_GETTIME: u64 = 87;
pub const UTIMENSAT: u64 = 88;
pub const ACCT: u64 = 89;
pub const CAPGET: u64 = 90;
pub const CAPSET: u64 = 91;
pub const PERSONALITY: u64 = 92;
pub const EXIT: u64 = 93;
pub const EXIT_GROUP: u64 = 94;
pub const WAITID: u64 = 95;
pub const SET_TID_ADDRESS: u64 = 96;
pub const UNSHARE: u64 = 97;
pub const FUTEX: u64 = 98;
pub const SET_ROBUST_LIST: u64 = 99;
pub const GET_ROBUST_LIST: u64 = 100;
pub const NANOSLEEP: u64 = 101;
pub const GETITIMER: u64 = 102;
pub const SETITIMER: u64 = 103;
pub const KEXEC_LOAD: u64 = 104;
pub const INIT_MODULE: u64 = 105;
pub const DELETE_MODULE: u64 = 106;
pub const TIMER_CREATE: u64 = 107;
pub const TIMER_GETTIME: u64 = 108;
pub const TIMER_GETOVERRUN: u64 = 109;
pub const TIMER_SETTIME: u64 = 110;
pub const TIMER_DELETE: u64 = 111;
pub const CLOCK_SETTIME: u64 = 112;
pub const CLOCK_GETTIME: u64 = 113;
pub const CLOCK_GETRES: u64 = 114;
pub const CLOCK_NANOSLEEP: u64 = 115;
pub const SYSLOG: u64 = 116;
pub const PTRACE: u64 = 117;
pub const SCHED_SETPARAM: u64 = 118;
pub const SCHED_SETSCHEDULER: u64 = 119;
pub const SCHED_GETSCHEDULER: u64 = 120;
pub const SCHED_GETPARAM: u64 = 121;
pub const SCHED_SETAFFINITY: u64 = 122;
pub const SCHED_GETAFFINITY: u64 = 123;
pub const SCHED_YIELD: u64 = 124;
pub const SCHED_GET_PRIORITY_MAX: u64 = 125;
pub const SCHED_GET_PRIORITY_MIN: u64 = 126;
pub const SCHED_RR_GET_INTERVAL: u64 = 127;
pub const RESTART_SYSCALL: u64 = 128;
pub const KILL: u64 = 129;
pub const TKILL: u64 = 130;
pub const TGKILL: u64 = 131;
pub const SIGALTSTACK: u64 = 132;
pub const RT_SIGSUSPEND: u64 = 133;
pub const RT_SIGACTION: u64 = 134;
pub const RT_SIGPROCMASK: u64 = 135;
pub const RT_SIGPENDING: u64 = 136;
pub const RT_SIGTIMEDWAIT: u64 = 137;
pub const RT_SIGQUEUEINFO: u64 = 138;
pub const RT_SIGRETURN: u64 = 139;
pub const SETPRIORITY: u64 = 140;
pub const GETPRIORITY: u64 = 141;
pub const REBOOT: u64 = 142;
pub const SETREGID: u64 = 143;
pub const SETGID: u64 = 144;
pub const SETREUID: u64 = 145;
pub const SETUID: u64 = 146;
pub const SETRESUID: u64 = 147;
pub const GETRESUID: u64 = 148;
pub const SETRESGID: u64 = 149;
pub const GETRESGID: u64 = 150;
pub const SETFSUID: u64 = 151;
pub const SETFSGID: u64 = 152;
pub const TIMES: u64 = 153;
pub const SETPGID: u64 = 154;
pub const GETPGID: u64 = 155;
pub const GETSID: u64 = 156;
pub const SETSID: u64 = 157;
pub const GETGROUPS: u64 = 158;
pub const SETGROUPS: u64 = 159;
pub const UNAME: u64 = 160;
pub const SETHOSTNAME: u64 = 161;
pub const SETDOMAINNAME: u64 = 162;
pub const GETRLIMIT: u64 = 163;
pub const SETRLIMIT: u64 = 164;
pub const GETRUSAGE: u64 = 165;
pub const UMASK: u64 = 166;
pub const PRCTL: u64 = 167;
pub const GETCPU: u64 = 168;
pub const GETTIMEOFDAY: u64 = 169;
pub const SETTIMEOFDAY: u64 = 170;
pub const ADJTIMEX: u64 = 171;
pub const GETPID: u64 = 172;
pub const GETPPID: u64 = 173;
pub const GETUID: u64 = 174;
pub const GETEUID: u64 = 175;
pub const GETGID: u64 = 176;
pub const GETEGID: u64 = 177;
pub const GETTID: u64 = 178;
pub const SYSINFO: u64 = 179;
pub const MQ_OPEN: u64 = 180;
pub const MQ_UNLINK: u64 = 181;
pub const MQ_TIMEDSEND: u64 = 182;
pub const MQ_TIMEDRECEIVE: u64 = 183;
pub const MQ_NOTIFY: u64 = 184;
pub const MQ_GETSETATTR: u64 = 185;
pub const MSGGET: u64 = 186;
pub const MSGCTL: u64 = 187;
pub const MSGRCV: u64 = 188;
pub const MSGSND: u64 = 189;
pub const SEMGET: u64 = 190;
pub const SEMCTL: u64 = 191;
pub const SEMTIMEDOP: u64 = 192;
pub const SEMOP: u64 = 193;
pub const SHMGET: u64 = 194;
pub const SHMCTL: u64 = 195;
pub const SHMAT: u64 = 196;
pub const SHMDT: u64 = 197;
pub const SOCKET: u64 = 198;
pub const SOCKETPAIR: u64 = 199;
pub const BIND: u64 = 200;
pub const LISTEN: u64 = 201;
pub const ACCEPT: u64 = 202;
pub const CONNECT: u64 = 203;
pub const GETSOCKNAME: u64 = 204;
pub const GETPEERNAME: u64 = 205;
pub const SENDTO: u64 = 206;
pub const RECVFROM: u64 = 207;
pub const SETSOCKOPT: u64 = 208;
pub const GETSOCKOPT: u64 = 209;
pub const SHUTDOWN: u64 = 210;
pub const SENDMSG: u64 = 211;
pub const RECVMSG: u64 = 212;
pub const READAHEAD: u64 = 213;
pub const BRK: u64 = 214;
pub const MUNMAP: u64 = 215;
pub const MREMAP: u64 = 216;
pub const ADD_KEY: u64 = 217;
pub const REQUEST_KEY: u64 = 218;
pub const KEYCTL: u64 = 219;
pub const CLONE: u64 = 220;
pub const EXECVE: u64 = 221;
pub const MMAP: u64 = 222;
pub const FADVISE64: u64 = 223;
pub const SWAPON: u64 = 224;
pub const SWAPOFF: u64 = 225;
pub const MPROTECT: u64 = 226;
pub const MSYNC: u64 = 227;
pub const MLOCK: u64 = 228;
pub const MUNLOCK: u64 = 229;
pub const MLOCKALL: u64 = 230;
pub const MUNLOCKALL: u64 = 231;
pub const MINCORE: u64 = 232;
pub const MADVISE: u64 = 233;
pub const REMAP_FILE_PAGES: u64 = 234;
pub const MBIND: u64 = 235;
pub const GET_MEMPOLICY: u64 = 236;
pub const SET_MEMPOLICY: u64 = 237;
pub const MIGRATE_PAGES: u64 = 238;
pub const MOVE_PAGES: u64 = 239;
pub const RT_TGSIGQUEUEINFO: u64 = 240;
pub const PERF_EVENT_OPEN: u64 = 241;
pub const ACCEPT4: u64 = 242;
pub const RECVMMSG: u64 = 243;
pub const RISCV_HWPROBE: u64 = 258;
pub const RISCV_FLUSH_ICACHE: u64 = 259;
pub const WAIT4: u64 = 260;
pub const PRLIMIT64: u64 = 261;
pub const FANOTIFY_INIT: u64 = 262;
pub const FANOTIFY_MARK: u64 = 263;
pub const NAME_TO_HANDLE_AT: u64 = 264;
pub const OPEN_BY_HANDLE_AT: u64 = 265;
pub const CLOCK_ADJTIME: u64 = 266;
pub const SYNCFS: u64 = 267;
pub const SETNS: u64 = 268;
pub const SENDMMSG: u64 = 269;
pub const PROCESS_VM_READV: u64 = 270;
pub const PROCESS_VM_WRITEV: u64 = 271;
pub const KCMP: u64 = 272;
pub const FINIT_MODULE: u64 = 273;
pub const SCHED_SETATTR: u64 = 274;
pub const SCHED_GETATTR: u64 = 275;
pub const RENAMEAT2: u64 = 276;
pub const SECCOMP: u64 = 277;
pub const GETRANDOM: u64 = 278;
pub const MEMFD_CREATE: u64 = 279;
pub const BPF: u64 = 280;
pub const EXECVEAT: u64 = 281;
pub const USERFAULTFD: u64 = 282;
pub const MEMBARRIER: u64 = 283;
pub const MLOCK2: u64 = 284;
pub const COPY_FILE_RANGE: u64 = 285;
pub const PREADV2: u64 = 286;
pub const PWRITEV2: u64 = 287;
pub const PKEY_MPROTECT: u64 = 288;
pub const PKEY_ALLOC: u64 = 289;
pub const PKEY_FREE: u64 = 290;
pub const STATX: u64 = 291;
pub const IO_PGETEVENTS: u64 = 292;
pub const RSEQ: u64 = 293;
pub const KEXEC_FILE_LOAD: u64 = 294;
pub const PIDFD_SEND_SIGNAL: u64 = 424;
pub const IO_URING_SETUP: u64 = 425;
pub const IO_URING_ENTER: u64 = 426;
pub const IO_URING_REGISTER: u64 = 427;
pub const OPEN_TREE: u64 = 428;
pub const MOVE_MOUNT: u64 = 429;
pub const FSOPEN: u64 = 430;
pub const FSCONFIG: u64 = 431;
pub const FSMOUNT: u64 = 432;
pub const FSPICK: u64 = 433;
pub const PIDFD_OPEN: u64 = 434;
pub const CLONE3: u64 = 435;
pub const CLOSE_RANGE: u64 = 436;
pub const OPENAT2: u64 = 437;
pub const PIDFD_GETFD: u64 = 438;
pub const FACCESSAT2: u64 = 439;
pub const PROCESS_MADVISE: u64 = 440;
pub const EPOLL_PWAIT2: u64 = 441;
pub const MOUNT_SETATTR: u64 = 442;
pub const QUOTACTL_FD: u64 = 443;
pub const LANDLOCK_CREATE_RULESET: u64 = 444;
pub const LANDLOCK_ADD_RULE: u64 = 445;
pub const LANDLOCK_RESTRICT_SELF: u64 = 446;
pub const MEMFD_SECRET: u64 = 447;
pub const PROCESS_MRELEASE: u64 = 448;
pub const FUTEX_WAITV: u64 = 449;
pub const SET_MEMPOLICY_HOME_NODE: u64 = 450;
pub const CACHESTAT: u64 = 451;
pub const FCHMODAT2: u64 = 452;
pub const MAP_SHADOW_STACK: u64 = 453;
pub const FUTEX_WAKE: u64 = 454;
pub const FUTEX_WAIT: u64 = 455;
pub const FUTEX_REQUEUE: u64 = 456;
pub const STATMOUNT: u64 = 457;
pub const LISTMOUNT: u64 = 458;
pub const LSM_GET_SELF_ATTR: u64 = 459;
pub const LSM_SET_SELF_ATTR: u64 = 460;
pub const LSM_LIST_MODULES: u64 = 461;
pub const MSEAL: u64 = 462;

/// `(number, name)` for every riscv64 syscall, sorted by number.
pub const TABLE: &[(u64, &str)] = &[
    (0, "io_setup"),
    (1, "io_destroy"),
    (2, "io_submit"),
    (3, "io_cancel"),
    (4, "io_getevents"),
    (5, "setxattr"),
    (6, "lsetxattr"),
    (7, "fsetxattr"),
    (8, "getxattr"),
    (9, "lgetxattr"),
    (10, "fgetxattr"),
    (11, "listxattr"),
    (12, "llistxattr"),
    (13, "flistxattr"),
    (14, "removexattr"),
    (15, "lremovexattr"),
    (16, "fremovexattr"),
    (17, "getcwd"),
    (18, "lookup_dcookie"),
    (19, "eventfd2"),
    (20, "epoll_create1"),
    (21, "epoll_ctl"),
    (22, "epoll_pwait"),
    (23, "dup"),
    (24, "dup3"),
    (25, "fcntl"),
    (26, "inotify_init1"),
    (27, "inotify_add_watch"),
    (28, "inotify_rm_watch"),
    (29, "ioctl"),
    (30, "ioprio_set"),
    (31, "ioprio_get"),
    (32, "flock"),
    (33, "mknodat"),
    (34, "mkdirat"),
    (35, "unlinkat"),
    (36, "symlinkat"),
    (37, "linkat"),
    (39, "umount2"),
    (40, "mount"),
    (41, "pivot_root"),
    (42, "nfsservctl"),
    (43, "statfs"),
    (44, "fstatfs"),
    (45, "truncate"),
    (46, "ftruncate"),
    (47, "fallocate"),
    (48, "faccessat"),
    (49, "chdir"),
    (50, "fchdir"),
    (51, "chroot"),
    (52, "fchmod"),
    (53, "fchmodat"),
    (54, "fchownat"),
    (55, "fchown"),
    (56, "openat"),
    (57, "close"),
    (58, "vhangup"),
    (59, "pipe2"),
    (60, "quotactl"),
    (61, "getdents64"),
    (62, "lseek"),
    (63, "read"),
    (64, "write"),
    (65, "readv"),
    (66, "writev"),
    (67, "pread64"),
    (68, "pwrite64"),
    (69, "preadv"),
    (70, "pwritev"),
    (71, "sendfile"),
    (72, "pselect6"),
    (73, "ppoll"),
    (74, "signalfd4"),
    (75, "vmsplice"),
    (76, "splice"),
    (77, "tee"),
    (78, "readlinkat"),
    (79, "newfstatat"),
    (80, "fstat"),
    (81, "sync"),
    (82, "fsync"),
    (83, "fdatasync"),
    (84, "sync_file_range"),
    (85, "timerfd_create"),
    (86, "timerfd_settime"),
    (87, "timerfd_gettime"),
    (88, "utimensat"),
    (89, "acct"),
    (90, "capget"),
    (91, "capset"),
    (92, "personality"),
    (93, "exit"),
    (94, "exit_group"),
    (95, "waitid"),
    (96, "set_tid_address"),
    (97, "unshare"),
    (98, "futex"),
    (99, "set_robust_list"),
    (100, "get_robust_list"),
    (101, "nanosleep"),
    (102, "getitimer"),
    (103, "setitimer"),
    (104, "kexec_load"),
    (105, "init_module"),
    (106, "delete_module"),
    (107, "timer_create"),
    (108, "timer_gettime"),
    (109, "timer_getoverrun"),
    (110, "timer_settime"),
    (111, "timer_delete"),
    (112, "clock_settime"),
    (113, "clock_gettime"),
    (114, "clock_getres"),
    (115, "clock_nanosleep"),
    (116, "syslog"),
    (117, "ptrace"),
    (118, "sched_setparam"),
    (119, "sched_setscheduler"),
    (120, "sched_getscheduler"),
    (121, "sched_getparam"),
    (122, "sched_setaffinity"),
    (123, "sched_getaffinity"),
    (124, "sched_yield"),
    (125, "sched_get_priority_max"),
    (126, "sched_get_priority_min"),
    (127, "sched_rr_get_interval"),
    (128, "restart_syscall"),
    (129, "kill"),
    (130, "tkill"),
    (131, "tgkill"),
    (132, "sigaltstack"),
    (133, "rt_sigsuspend"),
    (134, "rt_sigaction"),
    (135, "rt_sigprocmask"),
    (136, "rt_sigpending"),
    (137, "rt_sigtimedwait"),
    (138, "rt_sigqueueinfo"),
    (139, "rt_sigreturn"),
    (140, "setpriority"),
    (141, "getpriority"),
    (142, "reboot"),
    (143, "setregid"),
    (144, "setgid"),
    (145, "setreuid"),
    (146, "setuid"),
    (147, "setresuid"),
    (148, "getresuid"),
    (149, "setresgid"),
    (150, "getresgid"),
    (151, "setfsuid"),
    (152, "setfsgid"),
    (153, "times"),
    (154, "setpgid"),
    (155, "getpgid"),
    (156, "getsid"),
    (157, "setsid"),
    (158, "getgroups"),
    (159, "setgroups"),
    (160, "uname"),
    (161, "sethostname"),
    (162, "setdomainname"),
    (163, "getrlimit"),
    (164, "setrlimit"),
    (165, "getrusage"),
    (166, "umask"),
    (167, "prctl"),
    (168, "getcpu"),
    (169, "gettimeofday"),
    (170, "settimeofday"),
    (171, "adjtimex"),
    (172, "getpid"),
    (173, "getppid"),
    (174, "getuid"),
    (175, "geteuid"),
    (176, "getgid"),
    (177, "getegid"),
    (178, "gettid"),
    (179, "sysinfo"),
    (180, "mq_open"),
    (181, "mq_unlink"),
    (182, "mq_timedsend"),
    (183, "mq_timedreceive"),
    (184, "mq_notify"),
    (185, "mq_getsetattr"),
    (186, "msgget"),
    (187, "msgctl"),
    (188, "msgrcv"),
    (189, "msgsnd"),
    (190, "semget"),
    (191, "semctl"),
    (192, "semtimedop"),
    (193, "semop"),
    (194, "shmget"),
    (195, "shmctl"),
    (196, "shmat"),
    (197, "shmdt"),
    (198, "socket"),
    (199, "socketpair"),
    (200, "bind"),
    (201, "listen"),
    (202, "accept"),
    (203, "connect"),
    (204, "getsockname"),
    (205, "getpeername"),
    (206, "sendto"),
    (207, "recvfrom"),
    (208, "setsockopt"),
    (209, "getsockopt"),
    (210, "shutdown"),
    (211, "sendmsg"),
    (212, "recvmsg"),
    (213, "readahead"),
    (214, "brk"),
    (215, "munmap"),
    (216, "mremap"),
    (217, "add_key"),
    (218, "request_key"),
    (219, "keyctl"),
    (220, "clone"),
    (221, "execve"),
    (222, "mmap"),
    (223, "fadvise64"),
    (224, "swapon"),
    (225, "swapoff"),
    (226, "mprotect"),
    (227, "msync"),
    (228, "mlock"),
    (229, "munlock"),
    (230, "mlockall"),
    (231, "munlockall"),
    (232, "mincore"),
    (233, "madvise"),
    (234, "remap_file_pages"),
    (235, "mbind"),
    (236, "get_mempolicy"),
    (237, "set_mempolicy"),
    (238, "migrate_pages"),
    (239, "move_pages"),
    (240, "rt_tgsigqueueinfo"),
    (241, "perf_event_open"),
    (242, "accept4"),
    (243, "recvmmsg"),
    (258, "riscv_hwprobe"),
    (259, "riscv_flush_icache"),
    (260, "wait4"),
    (261, "prlimit64"),
    (262, "fanotify_init"),
    (263, "fanotify_mark"),
    (264, "name_to_handle_at"),
    (265, "open_by_handle_at"),
    (266, "clock_adjtime"),
    (267, "syncfs"),
    (268, "setns"),
    (269, "sendmmsg"),
    (270, "process_vm_readv"),
    (271, "process_vm_writev"),
    (272, "kcmp"),
    (273, "finit_module"),
    (274, "sched_setattr"),
    (275, "sched_getattr"),
    (276, "renameat2"),
    (277, "seccomp"),
    (278, "getrandom"),
    (279, "memfd_create"),
    (280, "bpf"),
    (281, "execveat"),
    (282, "userfaultfd"),
    (283, "membarrier"),
    (284, "mlock2"),
    (285, "copy_file_range"),
    (286, "preadv2"),
    (287, "pwritev2"),
    (288, "pkey_mprotect"),
    (289, "pkey_alloc"),
    (290, "pkey_free"),
    (291, "statx"),
    (292, "io_pgetevents"),
    (293, "rseq"),
    (294, "kexec_file_load"),
    (424, "pidfd_send_signal"),
    (425, "io_uring_setup"),
    (426, "io_uring_enter"),
    (427, "io_uring_register"),
    (428, "open_tree"),
    (429, "move_mount"),
    (430, "fsopen"),
    (431, "fsconfig"),
    (432, "fsmount"),
    (433, "fspick"),
    (434, "pidfd_open"),
    (435, "clone3"),
    (436, "close_range"),
    (437, "openat2"),
    (438, "pidfd_getfd"),
    (439, "faccessat2"),
    (440, "process_madvise"),
    (441, "epoll_pwait2"),
    (442, "mount_setattr"),
    (443, "quotactl_fd"),
    (444, "landlock_create_ruleset"),
    (445, "landlock_add_rule"),
    (446, "landlock_restrict_self"),
    (447, "memfd_secret"),
    (448, "process_mrelease"),
    (449, "futex_waitv"),
    (450, "set_mempolicy_home_node"),
    (451, "cachestat"),
    (452, "fchmodat2"),
    (453, "map_shadow_stack"),
    (454, "futex_wake"),
    (455, "futex_wait"),
    (456, "futex_requeue"),
    (457, "statmount"),
    (458, "listmount"),
    (459, "lsm_get_self_attr"),
    (460, "lsm_set_self_attr"),
    (461, "lsm_list_modules"),
    (462, "mseal"),
];

/// The name of syscall `nr`, if riscv64 Linux has one.
pub fn name(nr: u64) -> Option<&'static str> {
    TABLE
        .binary_search_by_key(&nr, |&(n, _)| n)
        .ok()
        .map(|i| TABLE[i].1)
}
