# pragma version ~=0.4.3
"""
@title Test ERC-20 whose Transfer logs lie, for the Settle EVM devnet
@notice Written for Settle's tests (issue 13, "Token behaviours"): `transfer` and `transferFrom` take
        the full `amount` from the sender and log Transfer(from, to, amount), but credit the recipient
        only floor(amount / 2); the rest is burned (totalSupply goes down) with no log of its own. Only
        `balanceOf` tells the truth. Failures revert with snekmate's reasons; allowances are spent in
        full (Approval logged as the standard token does); everything else is snekmate's `erc20`.
"""

from ethereum.ercs import IERC20
from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: (
    ownable.owner,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.approve,
    erc20.mint,
)


@deploy
@payable
def __init__(
    name_: String[25],
    symbol_: String[5],
    decimals_: uint8,
    initial_holder_: address,
    initial_supply_: uint256,
):
    ownable.__init__()
    erc20.__init__(name_, symbol_, decimals_, name_, "1")
    if initial_supply_ > 0:
        erc20._mint(initial_holder_, initial_supply_)


@external
def transfer(to: address, amount: uint256) -> bool:
    self._lying_transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    erc20._spend_allowance(owner, msg.sender, amount)
    self._lying_transfer(owner, to, amount)
    return True


@internal
def _lying_transfer(owner: address, to: address, amount: uint256):
    assert to != empty(address), "erc20: transfer to the zero address"
    balance: uint256 = erc20.balanceOf[owner]
    assert balance >= amount, "erc20: transfer amount exceeds balance"
    credited: uint256 = amount // 2
    erc20.balanceOf[owner] = balance - amount
    erc20.balanceOf[to] += credited
    erc20.totalSupply -= amount - credited
    log IERC20.Transfer(sender=owner, receiver=to, value=amount)
