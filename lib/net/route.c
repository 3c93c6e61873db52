/*
 * route.c - see route.h.
 */
#include "net/route.h"
#include "util/cleanup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <time.h>

/* A NETLINK_ROUTE socket living in netns_fd's namespace. */
static struct mnl_socket *open_rtnl_in(int netns_fd, ferry_error_t *err)
{
	_cleanup_fd_ int self = -1;
	if (netns_fd >= 0) {
		self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self < 0 || setns(netns_fd, CLONE_NEWNET) < 0) {
			ferry_error_set(err, errno, "enter namespace for netlink");
			return NULL;
		}
	}
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	int open_errno = errno;
	if (self >= 0 && setns(self, CLONE_NEWNET) < 0) {
		if (nl)
			mnl_socket_close(nl);
		ferry_error_set(err, errno, "return to own network namespace");
		return NULL;
	}
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ferry_error_set(err, nl ? errno : open_errno, "open rtnetlink socket");
		if (nl)
			mnl_socket_close(nl);
		return NULL;
	}
	return nl;
}

/* Sends the request and waits for its ack (or the data callback's result). */
static int rtnl_talk(int netns_fd, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
		     ferry_error_t *err)
{
	struct mnl_socket *nl = open_rtnl_in(netns_fd, err);
	if (!nl)
		return -1;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_seq = (unsigned)time(NULL);
	int rc = -1;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ferry_error_set(err, errno, "rtnetlink send");
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			ferry_error_set(err, errno, "rtnetlink receive");
			goto out;
		}
		int r = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, data);
		if (r < 0) {
			ferry_error_set(err, errno, "rtnetlink");
			goto out;
		}
		if (r == MNL_CB_STOP) {
			rc = 0;
			goto out;
		}
	}
out:
	mnl_socket_close(nl);
	return rc;
}

static struct nlmsghdr *route_msg(char *buf, int type, unsigned flags, const char *dst, int plen,
				  ferry_error_t *err)
{
	struct in_addr addr;
	if (inet_pton(AF_INET, dst, &addr) != 1) {
		ferry_error_set(err, EINVAL, "bad IPv4 address '%s'", dst);
		return NULL;
	}
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (unsigned short)type;
	nlh->nlmsg_flags = (unsigned short)(NLM_F_REQUEST | flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (unsigned char)plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_DST, addr.s_addr);
	return nlh;
}

int route_replace_v4(int netns_fd, const char *dst, int plen, const char *gateway,
		     const char *ifname, ferry_error_t *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = route_msg(buf, RTM_NEWROUTE,
					 NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK, dst, plen, err);
	if (!nlh)
		return -1;
	if (gateway) {
		struct in_addr gw;
		if (inet_pton(AF_INET, gateway, &gw) != 1)
			return ferry_error_set(err, EINVAL, "bad gateway '%s'", gateway);
		mnl_attr_put_u32(nlh, RTA_GATEWAY, gw.s_addr);
	} else {
		struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
		rtm->rtm_scope = RT_SCOPE_LINK;
	}
	if (ifname) {
		/* if_nametoindex works in the caller's namespace; callers name devices
		 * only for their own namespace (netns_fd == -1) */
		unsigned idx = if_nametoindex(ifname);
		if (idx == 0)
			return ferry_error_set(err, errno, "no interface %s", ifname);
		mnl_attr_put_u32(nlh, RTA_OIF, idx);
	}
	if (rtnl_talk(netns_fd, nlh, NULL, NULL, err) < 0)
		return ferry_error_prefix(err, "replace route %s/%d", dst, plen);
	return 0;
}

int route_replace_dev_v4(int netns_fd, const char *dst, int plen, unsigned oif,
			 ferry_error_t *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = route_msg(buf, RTM_NEWROUTE,
					 NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK, dst, plen, err);
	if (!nlh)
		return -1;
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_scope = RT_SCOPE_LINK;
	mnl_attr_put_u32(nlh, RTA_OIF, oif);
	if (rtnl_talk(netns_fd, nlh, NULL, NULL, err) < 0)
		return ferry_error_prefix(err, "route %s/%d to interface %u", dst, plen, oif);
	return 0;
}

static int gateway_attr_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == RTA_GATEWAY &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
		struct in_addr gw = { mnl_attr_get_u32(attr) };
		inet_ntop(AF_INET, &gw, data, 16);
	}
	return MNL_CB_OK;
}

static int gateway_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct rtmsg), gateway_attr_cb, data);
	return MNL_CB_STOP;
}

int route_lookup_gateway_v4(int netns_fd, const char *dst, char gateway[16], ferry_error_t *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = route_msg(buf, RTM_GETROUTE, 0, dst, 32, err);
	if (!nlh)
		return -1;
	gateway[0] = '\0';
	if (rtnl_talk(netns_fd, nlh, gateway_msg_cb, gateway, err) < 0)
		return ferry_error_prefix(err, "look up route to %s", dst);
	return 0;
}

static int oif_attr_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == RTA_OIF && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
		*(unsigned *)data = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int oif_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct rtmsg), oif_attr_cb, data);
	return MNL_CB_STOP;
}

int route_lookup_dev_v4(const char *dst, char dev[IF_NAMESIZE], ferry_error_t *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned oif = 0;
	struct nlmsghdr *nlh = route_msg(buf, RTM_GETROUTE, 0, dst, 32, err);
	if (!nlh)
		return -1;
	if (rtnl_talk(-1, nlh, oif_msg_cb, &oif, err) < 0)
		return ferry_error_prefix(err, "look up route to %s", dst);
	if (!oif || !if_indextoname(oif, dev))
		return ferry_error_set(err, errno, "no interface routes to %s", dst);
	return 0;
}
