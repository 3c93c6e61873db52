/*
 * runc_shim.c - `ferry-runc` (argv[0] dispatch, see main.c): the OCI runtime
 * of RuntimeClass `ferry`.  All logic is in lib/k8snode/runcshim.c.
 */
#include "cmd/cmd.h"
#include "k8snode/runcshim.h"

int cmd_runc_shim(int argc, char **argv)
{
	return runcshim_main(argc, argv);
}
