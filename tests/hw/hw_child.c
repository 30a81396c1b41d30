/* Test harness: failsoft-mcu as a child process. See hw_child.h. */
#include <errno.h>    /* errno */
#include <fcntl.h>    /* open */
#include <signal.h>   /* kill */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* mkdtemp */
#include <string.h>   /* strcpy */
#include <sys/stat.h> /* lstat */
#include <sys/wait.h> /* waitpid */
#include <time.h>     /* nanosleep */
#include <unistd.h>   /* fork, execv, unlink, rmdir */

#include "hw_child.h" /* the API implemented here */

#define MAX_ARGS 32

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int hw_child_prepare(struct hw_child *c)
{
    c->pid = -1;
    strcpy(c->dir, "/tmp/fs-hw-test-XXXXXX");
    if (!mkdtemp(c->dir))
        return -1;
    snprintf(c->link, sizeof(c->link), "%s/ttyMCU", c->dir);
    return 0;
}

static pid_t spawn(const char *link, const char *const *args, int quiet)
{
    const char *argv[MAX_ARGS];
    int n = 0;
    argv[n++] = FAILSOFT_MCU;
    if (link) {
        argv[n++] = "-I";
        argv[n++] = link;
    }
    for (int i = 0; args && args[i] && n < MAX_ARGS - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (quiet) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
    }
    execv(FAILSOFT_MCU, (char *const *)argv);
    _exit(127);
}

static int exit_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

/* Waits for the child up to ms; its exit status, or -1 if still running. */
static int wait_exit(pid_t pid, int ms)
{
    for (int waited = 0; waited <= ms; waited += 10) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return exit_status(status);
        if (r < 0)
            return -1;
        sleep_ms(10);
    }
    return -1;
}

int hw_child_start(struct hw_child *c, const char *const *args)
{
    c->pid = spawn(c->link, args, 0);
    if (c->pid < 0)
        return -1;
    for (int waited = 0; waited < 10000; waited += 10) {
        struct stat st;
        char target[64];
        ssize_t n = readlink(c->link, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            if (strncmp(target, "/dev/pts/", 9) == 0 && stat(c->link, &st) == 0)
                return 0;
        }
        int status;
        if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
            c->pid = -1;
            return -1;
        }
        sleep_ms(10);
    }
    hw_child_stop(c);
    return -1;
}

int hw_child_stop(struct hw_child *c)
{
    if (c->pid <= 0)
        return -1;
    kill(c->pid, SIGTERM);
    int rc = wait_exit(c->pid, 5000);
    if (rc < 0) {
        kill(c->pid, SIGKILL);
        int status;
        waitpid(c->pid, &status, 0);
        rc = exit_status(status);
    }
    c->pid = -1;
    return rc;
}

void hw_child_cleanup(struct hw_child *c)
{
    unlink(c->link);
    rmdir(c->dir);
}

int hw_child_run(const char *const *args)
{
    pid_t pid = spawn(NULL, args, 1);
    if (pid < 0)
        return -1;
    int rc = wait_exit(pid, 5000);
    if (rc < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return rc;
}
