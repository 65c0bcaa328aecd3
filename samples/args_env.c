/* args_env: echo argv (except argv[0], whose spelling depends on the runner) and env vars. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    printf("argv[0] present: %s\n", argv[0] != NULL && argv[0][0] != '\0' ? "yes" : "no");
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=[%s] (len %zu)\n", i, argv[i], strlen(argv[i]));
    printf("argv[argc] is NULL: %s\n", argv[argc] == NULL ? "yes" : "no");

    const char *greeting = getenv("VMX_SAMPLE_GREETING");
    printf("VMX_SAMPLE_GREETING=%s\n", greeting ? greeting : "(unset)");
    const char *unset = getenv("VMX_SAMPLE_SURELY_UNSET_VARIABLE");
    printf("VMX_SAMPLE_SURELY_UNSET_VARIABLE=%s\n", unset ? unset : "(unset)");

    /* environ must contain the variable too, exactly once. */
    int seen = 0;
    for (char **e = environ; *e != NULL; e++)
        if (strncmp(*e, "VMX_SAMPLE_GREETING=", 20) == 0)
            seen++;
    printf("environ entries for VMX_SAMPLE_GREETING: %d\n", seen);

    /* setenv/unsetenv within the guest. */
    setenv("VMX_SAMPLE_LOCAL", "set-in-guest", 1);
    printf("VMX_SAMPLE_LOCAL=%s\n", getenv("VMX_SAMPLE_LOCAL"));
    unsetenv("VMX_SAMPLE_LOCAL");
    printf("after unsetenv: %s\n", getenv("VMX_SAMPLE_LOCAL") ? "still set" : "(unset)");

    /* stdin: count bytes and lines, echo the first line; report on stderr too. */
    char line[256], first[256] = "";
    unsigned long bytes = 0, lines = 0;
    while (fgets(line, sizeof line, stdin) != NULL) {
        size_t n = strlen(line);
        if (lines == 0)
            snprintf(first, sizeof first, "%.*s", (int)(n > 0 && line[n - 1] == '\n' ? n - 1 : n),
                     line);
        bytes += n;
        if (n > 0 && line[n - 1] == '\n')
            lines++;
    }
    printf("stdin: %lu bytes, %lu lines, first line [%s]\n", bytes, lines, first);
    fprintf(stderr, "args_env: %d arguments, %lu stdin bytes\n", argc - 1, bytes);
    return 0;
}
