/* exec_self: execve of programs — the program re-executes itself through /proc/self/exe
 * in a forked child with its own argv[0], arguments and environment (a guest program
 * exec'ing a guest program runs through vmx again), waits for its exit status, then
 * replaces itself with a host program (/bin/echo), which runs natively. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        printf("child: argv[0]=%s argc=%d", argv[0], argc);
        for (int i = 2; i < argc; i++)
            printf(" [%s]", argv[i]);
        const char *v = getenv("EXEC_SELF_VAR");
        printf(" EXEC_SELF_VAR=%s PATH set: %s\n", v ? v : "(unset)", getenv("PATH") ? "yes" : "no");
        fflush(stdout);
        return 7;
    }
    printf("parent: starting the child\n");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = {"renamed-child", "child", "one", "two words", NULL};
        char *env[] = {"EXEC_SELF_VAR=hello", NULL};
        execve("/proc/self/exe", args, env);
        perror("execve");
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("parent: child exited with %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    char *missing[] = {"nope", NULL};
    if (execv("/nonexistent/program", missing) < 0)
        perror("execv of a missing program");
    fflush(stdout);
    char *echo[] = {"echo", "replaced by a host program", NULL};
    execv("/bin/echo", echo);
    perror("execv /bin/echo");
    return 1;
}
