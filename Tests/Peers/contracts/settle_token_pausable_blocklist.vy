# pragma version ~=0.4.3
"""
@title USDC-style pausable, blocklisting test ERC-20 for the Settle EVM devnet
@notice Written for Settle's tests (issue 13, "Token behaviours"). The owner (the deployer) can
        `pause()`/`unpause()` and `blocklist(account)`/`unblocklist(account)`.
        While paused, `transfer`, `transferFrom` and `approve` revert with "paused".
        `transfer` reverts with "blocklisted" when the sender or the recipient is blocklisted;
        `transferFrom` when the owner, the recipient or the caller (the spender) is; `approve` when the
        caller or the spender is. The pause is checked first, then the blocklist, then allowance and
        balance (snekmate's reasons). `mint` by the deployer ignores both, so tests can fund accounts.
        Views: `paused()`, `isBlocklisted(address)`.
"""

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
    erc20.mint,
)

paused: public(bool)
isBlocklisted: public(HashMap[address, bool])


event Paused:
    account: address


event Unpaused:
    account: address


event Blocklisted:
    account: indexed(address)


event Unblocklisted:
    account: indexed(address)


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
    assert not self.paused, "paused"
    assert not (self.isBlocklisted[msg.sender] or self.isBlocklisted[to]), "blocklisted"
    erc20._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    assert not self.paused, "paused"
    assert not (self.isBlocklisted[msg.sender] or self.isBlocklisted[owner] or self.isBlocklisted[to]), "blocklisted"
    erc20._spend_allowance(owner, msg.sender, amount)
    erc20._transfer(owner, to, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    assert not self.paused, "paused"
    assert not (self.isBlocklisted[msg.sender] or self.isBlocklisted[spender]), "blocklisted"
    erc20._approve(msg.sender, spender, amount)
    return True


@external
def pause():
    ownable._check_owner()
    self.paused = True
    log Paused(account=msg.sender)


@external
def unpause():
    ownable._check_owner()
    self.paused = False
    log Unpaused(account=msg.sender)


@external
def blocklist(account: address):
    ownable._check_owner()
    self.isBlocklisted[account] = True
    log Blocklisted(account=account)


@external
def unblocklist(account: address):
    ownable._check_owner()
    self.isBlocklisted[account] = False
    log Unblocklisted(account=account)
