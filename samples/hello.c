/* hello: the smallest useful guest. */
#include <stdio.h>

int main(void)
{
    printf("Hello from vmx!\n");
    puts("stdout and stdio buffering work");
    return 0;
}
