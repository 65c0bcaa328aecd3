/* exit_status: output is flushed by exit(), atexit handlers run in reverse order, status is 42. */
#include <stdio.h>
#include <stdlib.h>

static void first_registered(void)
{
    printf("atexit: first registered, runs last\n");
}

static void second_registered(void)
{
    printf("atexit: second registered, runs first\n");
}

int main(void)
{
    atexit(first_registered);
    atexit(second_registered);
    printf("exiting with status 42 (buffered, no newline flush yet)");
    fputs("\n", stdout);
    fprintf(stderr, "exit_status: this line goes to stderr\n");
    exit(42);
}
