"""The outbound policy on its own: which addresses are refused, and what the allow list opens."""

from __future__ import annotations

import ipaddress
import re

import pytest

from flux_edge.runtime.capabilities import AddressDenied, OutboundPolicy
from flux_edge.runtime.capabilities.policy import parse_allow_list


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "0.0.0.0",  # noqa: S104 (an address to refuse, not one to bind)
        "224.0.0.251",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "ff02::1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:a00:1::",  # 6to4 of 10.0.0.1
    ],
)
def test_special_addresses_are_refused(address: str):
    assert OutboundPolicy().reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str):
    assert OutboundPolicy().reason(ipaddress.ip_address(address)) is None


def test_the_allow_list_opens_its_ranges_and_nothing_else():
    policy = OutboundPolicy.from_text(" 10.1.0.0/16 , ::1 ")
    assert policy.reason(ipaddress.ip_address("10.1.2.3")) is None
    assert policy.reason(ipaddress.ip_address("::1")) is None
    assert policy.reason(ipaddress.ip_address("::ffff:10.1.2.3")) is None
    assert policy.reason(ipaddress.ip_address("10.2.0.1")) is not None
    assert policy.reason(ipaddress.ip_address("127.0.0.1")) is not None


def test_a_bad_allow_list_entry_is_an_error_naming_it():
    with pytest.raises(ValueError, match=re.escape("'10.0.0.0/33' is not a CIDR")):
        parse_allow_list("10.0.0.0/8,10.0.0.0/33")


async def test_resolution_refuses_a_name_whose_addresses_are_all_refused():
    with pytest.raises(AddressDenied, match="localhost"):
        await OutboundPolicy().resolve("localhost", 80)


async def test_resolution_returns_checked_ip_literals_to_connect_to():
    addresses = await OutboundPolicy.from_text("127.0.0.0/8,::1/128").resolve("localhost", 80)
    assert "127.0.0.1" in addresses
    assert all(ipaddress.ip_address(a) for a in addresses)
