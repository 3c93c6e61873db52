/*
 * cniplugin.h - `ferry-cni`'s main: one CNI call (ADD, DEL, CHECK, VERSION)
 * from the environment and stdin to stdout and the exit status.  It joins
 * the protocol (cni.c), the allocator (cniipam.c) and the links (cninet.c).
 */
#ifndef FERRY_K8SNODE_CNIPLUGIN_H
#define FERRY_K8SNODE_CNIPLUGIN_H

/* Returns the exit status: 0, or 1 after a CNI error JSON on stdout. */
int cniplugin_main(void);

#endif
