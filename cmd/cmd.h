/*
 * cmd.h - the subcommands of the `ferry` multi-call binary and the few
 * helpers they share.  Each cmd_*.c file is a thin layer: parse arguments,
 * call the library (mostly through an agent), print.
 */
#ifndef FERRY_CMD_H
#define FERRY_CMD_H

#include <json-c/json.h>
#include "util/error.h"

int cmd_sandbox(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_pki(int argc, char **argv);
int cmd_controller(int argc, char **argv);
int cmd_drain(int argc, char **argv);
int cmd_kubectl_migrate(int argc, char **argv);
int cmd_pod_migrate(int argc, char **argv);
/* argv[0] personalities (see main.c) */
int cmd_runc_shim(int argc, char **argv);
int cmd_cni(int argc, char **argv);

/* Prints "ferry: <message>" to stderr and returns 1 (the exit status). */
int cmd_fail(const ferry_error_t *err);
int cmd_usage(const char *usage);
void cmd_print_json(json_object *obj);
/* Every container of the sandbox (ps of all agents); NULL with err. */
json_object *cmd_all_containers(ferry_error_t *err);
/* The node a container lives on (a running one wins over a paused one). */
int cmd_find_container(const char *name, char node[48], ferry_error_t *err);
json_object *cmd_request(const char *op, const char *name);

#endif
