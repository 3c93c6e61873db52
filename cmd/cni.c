/*
 * cni.c - `ferry-cni` (argv[0] dispatch, see main.c): ferry's CNI plugin.
 * All logic is in lib/k8snode/cniplugin.c.
 */
#include "cmd/cmd.h"
#include "k8snode/cniplugin.h"

int cmd_cni(int argc, char **argv)
{
	return cniplugin_main();
}
